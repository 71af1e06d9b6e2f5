"""API for a person's contact methods, routing rules and notifications, and for team webhooks.

Methods, rules and notifications are always the caller's own. Team webhooks are
read by members of the team (a team-scoped token sees that team only) and written
by its managers; a webhook's secret is in the response to its creation only.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import permissions, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import BaseRouter

from oncall import selectors_notifications as notes
from oncall.api.teams import VisibleTeamField, _token
from oncall.models import ContactMethod, Notification, NotificationRule, TeamWebhook
from oncall.models.notifications import Event
from oncall.services import notifications as services


def register(router: BaseRouter) -> None:
    router.register("contact-methods", ContactMethodViewSet, basename="contact-method")
    router.register("notification-rules", NotificationRuleViewSet, basename="notification-rule")
    router.register("notifications", NotificationViewSet, basename="notification")
    router.register("team-webhooks", TeamWebhookViewSet, basename="team-webhook")


class ContactMethodSerializer(serializers.ModelSerializer):
    is_active = serializers.BooleanField(read_only=True)
    signing_secret = serializers.SerializerMethodField(
        help_text="Key of the X-Fireline-Signature on slack/webhook deliveries; empty for email."
    )

    class Meta:
        model = ContactMethod
        fields = ["id", "kind", "address", "label", "is_active", "disabled_at", "disabled_reason", "signing_secret"]
        read_only_fields = ["disabled_at", "disabled_reason"]

    @extend_schema_field(OpenApiTypes.STR)
    def get_signing_secret(self, method: ContactMethod) -> str:
        return notes.signing_secret(method)


class ContactMethodUpdateSerializer(ContactMethodSerializer):
    class Meta(ContactMethodSerializer.Meta):
        read_only_fields = ["kind", "disabled_at", "disabled_reason"]


class PersonalOnly(permissions.IsAuthenticated):
    """Refuses team-scoped tokens: they are a tool's credential for one team, and a tool that
    could read or rewrite the token owner's phone numbers could send their pages elsewhere."""

    message = "A team-scoped token acts for its team only; use a personal token or sign in."

    def has_permission(self, request: Request, view: Any) -> bool:
        token = _token(request)
        return super().has_permission(request, view) and (token is None or token.team_id is None)


class ContactMethodViewSet(viewsets.ModelViewSet):
    """Your ways of being reached. A new address re-enables a method that was disabled.
    Not with a team-scoped token (403)."""

    queryset = ContactMethod.objects.none()  # for the schema; requests use get_queryset()
    permission_classes = [PersonalOnly]
    filterset_fields = ["kind"]
    ordering_fields = ["kind", "address"]

    def get_serializer_class(self) -> type[serializers.Serializer]:
        if self.action in ("update", "partial_update"):
            return ContactMethodUpdateSerializer
        return ContactMethodSerializer

    def get_queryset(self) -> QuerySet[ContactMethod]:
        return notes.contact_methods_for_user(user=self.request.user)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        method = services.contact_method_create(user=request.user, **serializer.validated_data)
        return Response(self.get_serializer(method).data, status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        method = self.get_object()
        serializer = self.get_serializer(method, data=request.data, partial=kwargs.get("partial", False))
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        method = services.contact_method_update(
            contact_method=method, by=request.user, address=data.get("address"), label=data.get("label")
        )
        return Response(self.get_serializer(method).data)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services.contact_method_delete(contact_method=self.get_object(), by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_field(OpenApiTypes.INT)
class OwnContactMethodField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self) -> QuerySet[ContactMethod]:
        return notes.contact_methods_for_user(user=self.context["request"].user)


class NotificationRuleSerializer(serializers.Serializer):
    event = serializers.ChoiceField(choices=Event.choices, read_only=True)
    contact_methods = OwnContactMethodField(many=True, help_text="Ids of your contact methods; [] = account email.")
    uses_account_email = serializers.BooleanField(read_only=True)


def _rule(event: str, method_ids: set[int]) -> dict[str, Any]:
    return {"event": event, "contact_methods": sorted(method_ids), "uses_account_email": not method_ids}


class NotificationRuleViewSet(viewsets.GenericViewSet):
    """Which events reach you on which contact methods: one entry per event. Not with a
    team-scoped token (403)."""

    permission_classes = [PersonalOnly]

    serializer_class = NotificationRuleSerializer
    queryset = NotificationRule.objects.none()  # for the schema
    lookup_field = "event"
    lookup_value_regex = "[a-z_]+"
    pagination_class = None
    filter_backends: list[Any] = []

    def _event(self, event: str) -> str:
        if event not in Event.values:
            raise Http404("No such event.")
        return event

    def list(self, request: Request) -> Response:
        routes = notes.rules_by_event(user=request.user)
        return Response([_rule(event, routes.get(event, set())) for event in Event.values])

    def retrieve(self, request: Request, event: str) -> Response:
        routes = notes.rules_by_event(user=request.user)
        return Response(_rule(self._event(event), routes.get(event, set())))

    def update(self, request: Request, event: str) -> Response:
        """Replaces the methods of one event."""
        event = self._event(event)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        rules = services.notification_rule_set(
            user=request.user, event=event, contact_methods=serializer.validated_data["contact_methods"]
        )
        return Response(_rule(event, {rule.contact_method_id for rule in rules}))


class NotificationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Notification
        fields = [
            "id",
            "dedup_key",
            "event",
            "subject",
            "body",
            "payload",
            "contact_method",
            "status",
            "attempts",
            "next_attempt_at",
            "sent_at",
            "last_error",
            "created_at",
        ]


class NotificationViewSet(viewsets.ReadOnlyModelViewSet):
    """Notifications sent to you, newest first, with their delivery state (none for a team-scoped token:
    they span your teams)."""

    serializer_class = NotificationSerializer
    queryset = Notification.objects.none()  # for the schema; requests use get_queryset()
    filterset_fields = ["status", "event"]
    ordering_fields = ["created_at"]

    def get_queryset(self) -> QuerySet[Notification]:
        return notes.notifications_for_user(user=self.request.user, token=_token(self.request))


class TeamWebhookSerializer(serializers.ModelSerializer):
    team = VisibleTeamField(slug_field="slug")
    # Plain values, not Event.choices: the same (value, label) set under a second field
    # name would make the schema name one enum twice (EventEnum, EventsEnum) and warn.
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=Event.values), required=False, help_text="Empty: every event."
    )
    is_enabled = serializers.BooleanField(source="is_active", required=False)

    class Meta:
        model = TeamWebhook
        fields = ["id", "team", "name", "url", "format", "events", "is_enabled", "disabled_reason", "created_at"]
        read_only_fields = ["disabled_reason"]


class TeamWebhookUpdateSerializer(TeamWebhookSerializer):
    # A webhook stays with its team; declared fields ignore Meta.read_only_fields.
    team = serializers.SlugRelatedField(slug_field="slug", read_only=True)


class TeamWebhookCreatedSerializer(TeamWebhookSerializer):
    secret = serializers.CharField(read_only=True, help_text="The signing secret. Shown in this response only.")

    class Meta(TeamWebhookSerializer.Meta):
        fields = [*TeamWebhookSerializer.Meta.fields, "secret"]


class TeamWebhookViewSet(viewsets.ModelViewSet):
    """Your teams' outgoing webhooks. Members read; managers add, change and remove them."""

    queryset = TeamWebhook.objects.none()  # for the schema; requests use get_queryset()
    filterset_fields = ["team__slug", "format"]
    ordering_fields = ["name"]

    def get_serializer_class(self) -> type[serializers.Serializer]:
        if self.action in ("update", "partial_update"):
            return TeamWebhookUpdateSerializer
        return TeamWebhookSerializer

    def get_queryset(self) -> QuerySet[TeamWebhook]:
        return notes.team_webhooks_for_user(user=self.request.user, token=_token(self.request)).order_by(
            "team__name", "name"
        )

    @extend_schema(responses={201: TeamWebhookCreatedSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data.pop("is_active", None)
        webhook = services.team_webhook_create(by=request.user, **data)
        body = TeamWebhookCreatedSerializer(webhook, context=self.get_serializer_context()).data
        return Response(body, status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        webhook = self.get_object()
        serializer = self.get_serializer(webhook, data=request.data, partial=kwargs.get("partial", False))
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        webhook = services.team_webhook_update(
            webhook=webhook, by=request.user, is_enabled=data.pop("is_active", None), **data
        )
        return Response(self.get_serializer(webhook).data)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services.team_webhook_delete(webhook=self.get_object(), by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
