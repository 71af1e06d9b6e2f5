"""API for integrations, alerts, alert quality, and the intake endpoint tools post alerts to.

`POST /api/v1/integrations/{public_id}/alerts/` is the tools' door. It takes the
integration's key (not a user's token) and answers, in this order:
404 unknown integration, 401 missing or wrong key, 410 disabled, 413 body too large,
429 over the per-minute limit (with Retry-After; counted before any database write),
400 malformed body (with the reason), else 202 with what was created, repeated,
resolved or ignored. Nothing is stored on any refusal.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_serializer,
    inline_serializer,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import BaseRouter

from oncall import intake_formats, intake_limits
from oncall import selectors_intake as selectors
from oncall.api.teams import _token
from oncall.models import Alert, Integration
from oncall.selectors import service_get_for_user
from oncall.services import intake as services

logger = logging.getLogger(__name__)
INTAKE_DESCRIPTION = __doc__
KEY_HEADER = "HTTP_X_FIRELINE_KEY"


def register(router: BaseRouter) -> None:
    router.register("integrations", IntegrationViewSet, basename="integration")
    router.register("alerts", AlertViewSet, basename="alert")
    router.register(r"services/(?P<slug>[^/.]+)/alert-quality", AlertQualityViewSet, basename="alert-quality")


def intake_url(request: Request | None, integration: Integration) -> str:
    path = reverse("integration-alerts", kwargs={"public_id": integration.public_id})
    return request.build_absolute_uri(path) if request is not None else settings.SITE_URL + path


# --- serializers -------------------------------------------------------------------------


class IntegrationSerializer(serializers.ModelSerializer):
    service = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    intake_url = serializers.SerializerMethodField()
    is_active = serializers.BooleanField(read_only=True)

    class Meta:
        model = Integration
        fields = [
            "public_id",
            "service",
            "name",
            "kind",
            "key_prefix",
            "rate_limit_per_minute",
            "intake_url",
            "is_active",
            "created_at",
            "key_rotated_at",
            "last_alert_at",
            "disabled_at",
        ]
        read_only_fields = fields

    def get_intake_url(self, integration: Integration) -> str:
        return intake_url(self.context.get("request"), integration)


class IntegrationWithKeySerializer(IntegrationSerializer):
    key = serializers.SerializerMethodField(help_text="The key in clear text. Shown in this response only.")

    class Meta(IntegrationSerializer.Meta):
        fields = [*IntegrationSerializer.Meta.fields, "key"]
        read_only_fields = fields

    def get_key(self, integration: Integration) -> str:
        return self.context["key"]


class IntegrationCreateSerializer(serializers.Serializer):
    service = serializers.SlugField(help_text="Slug of a service of one of your teams.")
    name = serializers.CharField(max_length=100)
    kind = serializers.ChoiceField(choices=Integration.Kind.choices, default=Integration.Kind.GENERIC)
    rate_limit_per_minute = serializers.IntegerField(
        min_value=1, max_value=100_000, default=services.DEFAULT_RATE_LIMIT_PER_MINUTE
    )


class IntegrationUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False)
    rate_limit_per_minute = serializers.IntegerField(min_value=1, max_value=100_000, required=False)


class AlertPageSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    acknowledged_at = serializers.DateTimeField(allow_null=True)
    resolved_at = serializers.DateTimeField(allow_null=True)


class AlertSerializer(serializers.ModelSerializer):
    service = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    integration = serializers.SlugRelatedField(slug_field="public_id", read_only=True)
    page = serializers.SerializerMethodField()

    class Meta:
        model = Alert
        fields = [
            "id",
            "service",
            "integration",
            "dedup_key",
            "title",
            "severity",
            "status",
            "count",
            "first_seen_at",
            "last_seen_at",
            "resolved_at",
            "resolved_by_tool",
            "page",
        ]
        read_only_fields = fields

    @extend_schema_field(AlertPageSerializer(allow_null=True))
    def get_page(self, alert: Alert) -> dict[str, Any] | None:
        page = getattr(alert, "page", None)
        if page is None:
            return None
        return AlertPageSerializer(page).data


class AlertDetailSerializer(AlertSerializer):
    class Meta(AlertSerializer.Meta):
        fields = [*AlertSerializer.Meta.fields, "details", "links", "labels", "source_payload"]
        read_only_fields = fields


class WeekFiguresSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    alerts = serializers.IntegerField()
    acknowledged = serializers.IntegerField()
    acted_on = serializers.IntegerField()


class NoisySourceSerializer(serializers.Serializer):
    title = serializers.CharField()
    alerts = serializers.IntegerField()
    repeats = serializers.IntegerField(help_text="Sends counted while open, repeats included.")
    acted_on = serializers.IntegerField()
    nobody_acts = serializers.BooleanField(help_text="Fires often and nobody acted on it: fix or delete it.")


@extend_schema_serializer(many=False)
class AlertQualitySerializer(serializers.Serializer):
    since = serializers.DateTimeField()
    alerts = serializers.IntegerField()
    per_week = serializers.FloatField()
    acknowledged = serializers.IntegerField()
    acted_on = serializers.IntegerField()
    acknowledged_share = serializers.FloatField(allow_null=True)
    acted_on_share = serializers.FloatField(
        allow_null=True, help_text="Acknowledged, then resolved by a person rather than by the tool."
    )
    weeks = WeekFiguresSerializer(many=True)
    noisiest = NoisySourceSerializer(many=True)


IngestResultSerializer = inline_serializer(
    "IngestResult",
    {
        "created": serializers.IntegerField(),
        "repeated": serializers.IntegerField(),
        "resolved": serializers.IntegerField(),
        "ignored": serializers.IntegerField(help_text="Resolves for keys with no open alert."),
        "alerts": serializers.ListField(child=serializers.IntegerField()),
    },
)
DetailSerializer = inline_serializer("IntakeRefusal", {"detail": serializers.CharField()})


# --- intake ------------------------------------------------------------------------------


def presented_key(request: Request) -> str:
    """The key from `Authorization: Bearer`, `X-Fireline-Key`, or `?key=` (lands in access logs)."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() in ("bearer", "token") and value.strip():
        return value.strip()
    return request.META.get(KEY_HEADER, "").strip() or request.query_params.get("key", "").strip()


def _refuse(code: int, detail: str, **headers: str) -> Response:
    return Response({"detail": detail}, status=code, headers=headers or None)


def _content_length(request: Request) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def receive_alerts(request: Request, public_id: str) -> Response:
    integration = selectors.integration_for_intake(public_id=public_id)
    if integration is None:
        return _refuse(404, "No such integration.")
    key = presented_key(request)
    if not key or not services.integration_key_matches(integration=integration, raw=key):
        logger.info("Alert intake refused for integration %s: missing or wrong key.", integration.public_id)
        return _refuse(401, "Missing or wrong integration key.", **{"WWW-Authenticate": 'Bearer realm="intake"'})
    if not integration.is_active:
        return _refuse(410, "This integration is disabled; a manager of the service can enable it.")
    limit = settings.FIRELINE_ALERT_MAX_BYTES
    if _content_length(request) > limit:
        return _refuse(413, f"The body is larger than {limit} bytes; send fewer alerts per request.")
    now = timezone.now()
    decision = intake_limits.intake_hit(
        scope=str(integration.public_id), limit=integration.rate_limit_per_minute, now=now
    )
    if not decision.allowed:
        logger.warning("Alert intake over the limit for integration %s.", integration.public_id)
        return _refuse(
            429,
            f"More than {decision.limit} requests this minute for this integration; "
            f"try again in {decision.retry_after_seconds} seconds.",
            **{"Retry-After": str(decision.retry_after_seconds)},
        )
    body = request.body
    if len(body) > limit:  # a body without a truthful Content-Length
        return _refuse(413, f"The body is larger than {limit} bytes; send fewer alerts per request.")
    try:
        items = intake_formats.parse(integration.kind, body)
    except intake_formats.ParseError as exc:
        return _refuse(400, exc.reason)
    try:
        result = services.alert_ingest(integration=integration, items=items, now=now)
    except services.IntegrationDisabled as exc:
        return _refuse(410, exc.message)
    logger.info("Alert intake for integration %s: %s", integration.public_id, result.as_dict())
    return Response(result.as_dict(), status=status.HTTP_202_ACCEPTED)


# --- viewsets ----------------------------------------------------------------------------


class IntegrationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Integrations of your teams' services. Managers of the team create, change and rotate them."""

    serializer_class = IntegrationSerializer
    queryset = Integration.objects.none()  # for the schema; requests use get_queryset()
    lookup_field = "public_id"
    filterset_fields = ["kind"]
    search_fields = ["name"]

    def get_queryset(self) -> QuerySet[Integration]:
        integrations = selectors.integration_list_for_user(user=self.request.user, token=_token(self.request))
        service = self.request.query_params.get("service")
        return integrations.filter(service__slug=service) if service else integrations

    def get_object(self) -> Integration:
        integration = selectors.integration_get_for_user(
            user=self.request.user, public_id=self.kwargs["public_id"], token=_token(self.request)
        )
        self.check_object_permissions(self.request, integration)
        return integration

    def _with_key(self, integration: Integration, key: str, code: int = 200) -> Response:
        context = {**self.get_serializer_context(), "key": key}
        return Response(IntegrationWithKeySerializer(integration, context=context).data, status=code)

    @extend_schema(parameters=[OpenApiParameter("service", str, description="Only this service's integrations.")])
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(request=IntegrationCreateSerializer, responses={201: IntegrationWithKeySerializer})
    def create(self, request: Request) -> Response:
        data = IntegrationCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        service = service_get_for_user(user=request.user, slug=values.pop("service"), token=_token(request))
        integration, key = services.integration_create(service=service, by=request.user, **values)
        return self._with_key(integration, key, code=201)

    @extend_schema(request=IntegrationUpdateSerializer, responses=IntegrationSerializer)
    def partial_update(self, request: Request, public_id: str) -> Response:
        integration = self.get_object()
        data = IntegrationUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        integration = services.integration_update(integration=integration, by=request.user, **data.validated_data)
        return Response(IntegrationSerializer(integration, context=self.get_serializer_context()).data)

    @extend_schema(responses={204: None, 409: DetailSerializer})
    def destroy(self, request: Request, public_id: str) -> Response:
        services.integration_delete(integration=self.get_object(), by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses=IntegrationWithKeySerializer)
    @action(detail=True, methods=["post"], url_path="rotate-key")
    def rotate_key(self, request: Request, public_id: str) -> Response:
        """A new key; the old one stops working at once. The new key is in this response only."""
        integration, key = services.integration_rotate_key(integration=self.get_object(), by=request.user)
        return self._with_key(integration, key)

    @extend_schema(request=None, responses=IntegrationSerializer)
    @action(detail=True, methods=["post"])
    def disable(self, request: Request, public_id: str) -> Response:
        integration = services.integration_disable(integration=self.get_object(), by=request.user)
        return Response(IntegrationSerializer(integration, context=self.get_serializer_context()).data)

    @extend_schema(request=None, responses=IntegrationSerializer)
    @action(detail=True, methods=["post"])
    def enable(self, request: Request, public_id: str) -> Response:
        integration = services.integration_enable(integration=self.get_object(), by=request.user)
        return Response(IntegrationSerializer(integration, context=self.get_serializer_context()).data)

    @extend_schema(
        summary="Post alerts (for tools)",
        description=INTAKE_DESCRIPTION,
        auth=[],
        request={"application/json": OpenApiTypes.OBJECT},
        parameters=[
            OpenApiParameter(
                "key", str, description="The integration key, for tools that cannot set headers (lands in logs)."
            ),
            OpenApiParameter("X-Fireline-Key", str, OpenApiParameter.HEADER, description="The integration key."),
        ],
        responses={
            202: IngestResultSerializer,
            **{code: OpenApiResponse(DetailSerializer) for code in (400, 401, 404, 410, 413, 429)},
        },
    )
    @action(
        detail=True,
        methods=["post"],
        url_path="alerts",
        url_name="alerts",
        authentication_classes=(),
        permission_classes=(AllowAny,),
    )
    def alerts(self, request: Request, public_id: str) -> Response:
        return receive_alerts(request, public_id)


class AlertViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Alerts of your teams' services, open first. Filter with `?service=<slug>&status=open|resolved`."""

    serializer_class = AlertSerializer
    queryset = Alert.objects.none()  # for the schema; requests use get_queryset()
    filter_backends: list[Any] = []

    def get_queryset(self) -> QuerySet[Alert]:
        params = self.request.query_params
        return selectors.alert_list_for_user(
            user=self.request.user,
            token=_token(self.request),
            service=params.get("service"),
            status=params.get("status"),
        )

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        return AlertDetailSerializer if self.action == "retrieve" else AlertSerializer

    @extend_schema(
        parameters=[
            OpenApiParameter("service", str, description="A service slug."),
            OpenApiParameter("status", str, enum=Alert.Status.values),
        ]
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)


class AlertQualityViewSet(viewsets.GenericViewSet):
    """The service's alert quality over the last 8 weeks: alerts per week, shares acknowledged
    and acted on, and the noisiest sources."""

    serializer_class = AlertQualitySerializer
    pagination_class = None
    filter_backends: list[Any] = []

    @extend_schema(parameters=[OpenApiParameter("slug", str, OpenApiParameter.PATH)], responses=AlertQualitySerializer)
    def list(self, request: Request, slug: str) -> Response:
        service = service_get_for_user(user=request.user, slug=slug, token=_token(request))
        quality = selectors.alert_quality(service=service, now=timezone.now())
        return Response(AlertQualitySerializer(quality).data)
