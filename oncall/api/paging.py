"""API for pages (read, acknowledge, resolve, escalate now) and escalation policies (nested steps)."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import BaseRouter

from oncall import selectors
from oncall import selectors_paging as paging_selectors
from oncall.api.schedules import VisibleLayerField
from oncall.api.teams import VisibleTeamField, _token
from oncall.escalation import WEEKDAY_NAMES
from oncall.models import Alert, EscalationPolicy, EscalationStep, Page, PageEvent, StepTarget, Team, User
from oncall.selectors_paging import PAGE_STATUS_FILTERS
from oncall.services import escalation_policies as policy_services
from oncall.services import paging as services


def register(router: BaseRouter) -> None:
    router.register("pages", PageViewSet, basename="page")
    router.register("escalation-policies", EscalationPolicyViewSet, basename="escalation-policy")


# --- pages -----------------------------------------------------------------------------


class PageAlertSerializer(serializers.ModelSerializer):
    class Meta:
        model = Alert
        fields = [
            "id", "title", "details", "severity", "status", "dedup_key", "count", "links", "labels",
            "first_seen_at", "last_seen_at",
        ]  # fmt: skip


class PageEventSerializer(serializers.ModelSerializer):
    user = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    delivery = serializers.SerializerMethodField(help_text="The notification's delivery status, for NOTIFIED events.")

    class Meta:
        model = PageEvent
        fields = ["at", "kind", "user", "step", "channel", "delivery", "message"]

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_delivery(self, event: PageEvent) -> str | None:
        return event.notification.status if event.notification else None


class PageSerializer(serializers.ModelSerializer):
    team = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    service = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    alert = PageAlertSerializer(read_only=True)
    acknowledged_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    resolved_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    url = serializers.SerializerMethodField()

    class Meta:
        model = Page
        fields = [
            "id", "status", "team", "service", "alert", "created_at", "acknowledged_at", "acknowledged_by",
            "resolved_at", "resolved_by", "next_step_at", "stalled_at", "step_index", "round_index", "url",
        ]  # fmt: skip

    def get_url(self, page: Page) -> str:
        return self.context["request"].build_absolute_uri(reverse("oncall:page-detail", kwargs={"pk": page.pk}))


class PageDetailSerializer(PageSerializer):
    events = serializers.SerializerMethodField()
    policy_snapshot = serializers.JSONField(read_only=True, help_text="The policy as frozen when the page opened.")

    class Meta(PageSerializer.Meta):
        fields = [*PageSerializer.Meta.fields, "policy_snapshot", "events"]

    @extend_schema_field(PageEventSerializer(many=True))
    def get_events(self, page: Page) -> list[dict[str, Any]]:
        return PageEventSerializer(paging_selectors.page_events(page=page), many=True).data


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("team", OpenApiTypes.STR, description="Team slug."),
            OpenApiParameter("service", OpenApiTypes.STR, description="Service slug."),
            OpenApiParameter("status", OpenApiTypes.STR, enum=list(PAGE_STATUS_FILTERS), description="Default: all."),
        ]
    )
)
class PageViewSet(viewsets.ReadOnlyModelViewSet):
    """Pages of your teams, open ones first. Acknowledge, resolve or escalate one with its actions."""

    queryset = Page.objects.none()  # for the schema; requests use get_queryset()
    search_fields = ["alert__title"]

    def get_serializer_class(self) -> type[serializers.Serializer]:
        return PageSerializer if self.action == "list" else PageDetailSerializer

    def get_queryset(self) -> QuerySet[Page]:
        params = self.request.query_params
        token = _token(self.request)
        team = (
            selectors.team_get_for_user(user=self.request.user, slug=params["team"], token=token)
            if params.get("team")
            else None
        )
        service = (
            selectors.service_get_for_user(user=self.request.user, slug=params["service"], token=token)
            if params.get("service")
            else None
        )
        return paging_selectors.page_list_for_user(
            user=self.request.user, token=token, team=team, service=service, status=params.get("status")
        )

    def _act(self, request: Request, service: Any) -> Response:
        page = service(page=self.get_object(), by=request.user)
        page = paging_selectors.page_get_for_user(user=request.user, pk=page.pk, token=_token(request))
        return Response(PageDetailSerializer(page, context=self.get_serializer_context()).data)

    @extend_schema(request=None, responses=PageDetailSerializer)
    @action(detail=True, methods=["post"])
    def acknowledge(self, request: Request, pk: str) -> Response:
        """Stops the escalation. Again by you: no change; already by someone else: 409."""
        return self._act(request, services.page_acknowledge)

    @extend_schema(request=None, responses=PageDetailSerializer)
    @action(detail=True, methods=["post"])
    def resolve(self, request: Request, pk: str) -> Response:
        """Resolves the page and its alert. Already resolved: 409."""
        return self._act(request, services.page_resolve)

    @extend_schema(request=None, responses=PageDetailSerializer)
    @action(detail=True, methods=["post"])
    def escalate(self, request: Request, pk: str) -> Response:
        """Runs the next escalation step now. Not triggered, or the policy ran out: 409."""
        return self._act(request, services.page_escalate_now)


# --- escalation policies ---------------------------------------------------------------


@extend_schema_field(OpenApiTypes.STR)
class PageableUserField(serializers.SlugRelatedField):
    """A person by username: a member of your teams, or a staff user (platform leads, executives)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(slug_field="username", **kwargs)

    def get_queryset(self) -> QuerySet[User]:
        request = self.context["request"]
        teams = selectors.team_ids_for_user(user=request.user, token=_token(request))
        return User.objects.filter(Q(memberships__team__in=teams) | Q(is_staff=True), is_active=True).distinct()


class StepTargetSerializer(serializers.ModelSerializer):
    layer = VisibleLayerField(required=False, allow_null=True)
    user = PageableUserField(required=False, allow_null=True)

    class Meta:
        model = StepTarget
        fields = ["kind", "layer", "user"]


class EscalationStepSerializer(serializers.ModelSerializer):
    targets = StepTargetSerializer(many=True)
    weekdays = serializers.ListField(
        child=serializers.IntegerField(min_value=0, max_value=6),
        required=False,
        help_text=f"0 = {WEEKDAY_NAMES[0]} … 6 = {WEEKDAY_NAMES[6]}; empty = every day.",
    )

    class Meta:
        model = EscalationStep
        fields = ["position", "wait_minutes", "only_critical", "window_start", "window_end", "weekdays", "targets"]
        read_only_fields = ["position"]


class EscalationPolicySerializer(serializers.ModelSerializer):
    team = VisibleTeamField(slug_field="slug")
    steps = EscalationStepSerializer(many=True)
    services = serializers.SlugRelatedField(slug_field="slug", many=True, read_only=True)

    class Meta:
        model = EscalationPolicy
        fields = ["id", "team", "name", "description", "repeats", "steps", "services", "updated_at"]
        validators: list[Any] = []  # the service says "already has a policy named …"


def _step_inputs(steps: list[dict[str, Any]]) -> list[policy_services.StepInput]:
    return [
        policy_services.StepInput(
            wait_minutes=step["wait_minutes"],
            only_critical=step.get("only_critical", False),
            window_start=step.get("window_start"),
            window_end=step.get("window_end"),
            weekdays=step.get("weekdays", []),
            targets=[
                policy_services.TargetInput(kind=t["kind"], layer=t.get("layer"), user=t.get("user"))
                for t in step["targets"]
            ],
        )
        for step in steps
    ]


class EscalationPolicyViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Your teams' escalation policies with their steps. Writes need a manager of the team.

    `steps` replaces all steps on every write. Pages already open keep the copy they started with.
    """

    serializer_class = EscalationPolicySerializer
    queryset = EscalationPolicy.objects.none()  # for the schema; requests use get_queryset()
    filterset_fields = ["team__slug"]
    search_fields = ["name"]

    def get_queryset(self) -> QuerySet[EscalationPolicy]:
        return paging_selectors.escalation_policy_list_for_user(user=self.request.user, token=_token(self.request))

    def _fresh(self, policy: EscalationPolicy) -> dict[str, Any]:
        return self.get_serializer(self.get_queryset().get(pk=policy.pk)).data

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        team: Team = data["team"]
        policy = policy_services.escalation_policy_create(
            team=team,
            by=request.user,
            name=data["name"],
            description=data.get("description", ""),
            repeats=data.get("repeats", 1),
            steps=_step_inputs(data["steps"]),
        )
        return Response(self._fresh(policy), status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        policy = self.get_object()
        partial = kwargs.get("partial", False)
        serializer = self.get_serializer(policy, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if "team" in data and data["team"] != policy.team:
            return Response({"team": ["A policy stays with its team."]}, status=status.HTTP_400_BAD_REQUEST)
        policy = policy_services.escalation_policy_update(
            policy=policy,
            by=request.user,
            name=data.get("name"),
            description=data.get("description"),
            repeats=data.get("repeats"),
            steps=_step_inputs(data["steps"]) if "steps" in data else None,
        )
        return Response(self._fresh(policy))

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        policy_services.escalation_policy_delete(policy=self.get_object(), by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
