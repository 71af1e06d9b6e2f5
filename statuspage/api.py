"""API for tools that publish: status pages, component statuses, notices and maintenance.

Customers and monitors read the public v2 JSON on the status host; this is the writing side,
under /api/v1/ with the portal's tokens. Pages outside the caller's teams answer 404.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from config.errors import DomainError
from incidents import selectors as incident_selectors
from oncall.api.teams import _token
from statuspage import selectors, services
from statuspage.models import Component, ComponentStatus, Impact, Notice, NoticeUpdate, StatusPage

router = SimpleRouter()
# Named here so the schema can name their enums (settings.SPECTACULAR_SETTINGS).
OPENING_STATUSES = [(s, Notice.Status(s).label) for s in ("investigating", "identified", "monitoring")]
INCIDENT_IMPACTS = [c for c in Impact.choices if c[0] != Impact.MAINTENANCE]


class ComponentSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id", read_only=True)
    group = serializers.CharField(source="group.name", read_only=True, allow_null=True, default=None)

    class Meta:
        model = Component
        fields = ["id", "name", "group", "description", "position", "status", "status_source", "status_changed_at"]
        read_only_fields = fields


class StatusPageSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id", read_only=True)
    components = ComponentSerializer(many=True, read_only=True)

    class Meta:
        model = StatusPage
        fields = ["id", "name", "host", "time_zone", "components"]
        read_only_fields = fields


class NoticeUpdateSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id", read_only=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = NoticeUpdate
        fields = ["id", "status", "body", "affected_components", "created_by", "created_at"]
        read_only_fields = fields


class NoticeSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id", read_only=True)
    page = serializers.CharField(source="page.public_id", read_only=True)
    incident = serializers.IntegerField(source="incident.number", read_only=True, allow_null=True, default=None)
    components = serializers.SlugRelatedField(slug_field="public_id", many=True, read_only=True)
    updates = NoticeUpdateSerializer(many=True, read_only=True)

    class Meta:
        model = Notice
        fields = [
            "id", "page", "kind", "title", "impact", "status", "incident", "components", "scheduled_for",
            "scheduled_until", "started_at", "monitoring_at", "resolved_at", "updates",
        ]  # fmt: skip
        read_only_fields = fields

    def to_representation(self, notice: Notice) -> dict[str, Any]:
        data = super().to_representation(notice)
        # The incident's number only for its readers (selectors.with_incident_visibility).
        if not getattr(notice, "incident_visible", False):
            data["incident"] = None
        return data


ComponentStatuses = serializers.DictField(
    child=serializers.ChoiceField(choices=ComponentStatus.choices),
    required=False,
    default=dict,
    help_text="Component id → new status.",
)


class NoticeCreateSerializer(serializers.Serializer):
    page = serializers.CharField(help_text="Status page id.")
    title = serializers.CharField(max_length=200)
    impact = serializers.ChoiceField(choices=INCIDENT_IMPACTS)
    status = serializers.ChoiceField(choices=OPENING_STATUSES)
    body = serializers.CharField(max_length=5000)
    components = ComponentStatuses
    incident = serializers.IntegerField(required=False, allow_null=True, default=None, help_text="Incident number.")


class NoticeUpdateCreateSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Notice.Status.choices)
    body = serializers.CharField(max_length=5000)
    impact = serializers.ChoiceField(choices=Impact.choices, required=False, allow_null=True, default=None)
    components = ComponentStatuses


class MaintenanceCreateSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    body = serializers.CharField(max_length=5000)
    scheduled_for = serializers.DateTimeField(help_text="ISO 8601; without an offset, in the page's time zone.")
    scheduled_until = serializers.DateTimeField(help_text="ISO 8601; without an offset, in the page's time zone.")
    components = serializers.ListField(child=serializers.CharField(), required=False, default=list)


class ComponentStatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=ComponentStatus.choices)


def _statuses(page: StatusPage, wanted: dict[str, str]) -> dict[Component, str]:
    found = {c.public_id: c for c in Component.objects.filter(page=page, public_id__in=list(wanted))}
    unknown = sorted(set(wanted) - set(found))
    if unknown:
        raise serializers.ValidationError({"components": [f"Not components of this page: {', '.join(unknown)}."]})
    return {found[code]: value for code, value in wanted.items()}


def _components(page: StatusPage, wanted: list[str]) -> list[Component]:
    return list(_statuses(page, dict.fromkeys(wanted, ComponentStatus.MAINTENANCE)))


class StatusPageViewSet(viewsets.ReadOnlyModelViewSet):
    """Status pages your teams publish on, with their components."""

    serializer_class = StatusPageSerializer
    queryset = StatusPage.objects.none()
    lookup_field = "public_id"

    def get_queryset(self) -> Any:
        pages = selectors.pages_for_user(user=self.request.user, token=_token(self.request))
        return pages.prefetch_related("components__group")

    @extend_schema(request=MaintenanceCreateSerializer, responses={201: NoticeSerializer})
    @action(detail=True, methods=["post"])
    def maintenance(self, request: Request, public_id: str) -> Response:
        """Schedules maintenance; it starts and completes by itself at its times."""
        page = self.get_object()
        body = MaintenanceCreateSerializer(data=request.data)
        # A window is planned in the page's time zone, as the portal's form reads it, not the caller's.
        with timezone.override(page.time_zone):
            body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        data["components"] = _components(page, data["components"])
        notice = services.maintenance_schedule(page=page, by=request.user, **data)
        return Response(NoticeSerializer(notice).data, status=status.HTTP_201_CREATED)


class ComponentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Components of your teams' pages; set a status by hand (or from a monitor)."""

    serializer_class = ComponentSerializer
    queryset = Component.objects.none()
    lookup_field = "public_id"

    def get_queryset(self) -> Any:
        pages = selectors.pages_for_user(user=self.request.user, token=_token(self.request))
        return Component.objects.filter(page__in=pages).select_related("group", "page").order_by("page", "position")

    @extend_schema(request=ComponentStatusSerializer, responses=ComponentSerializer)
    @action(detail=True, methods=["post"])
    def status(self, request: Request, public_id: str) -> Response:
        component = self.get_object()
        body = ComponentStatusSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.component_set_status(component=component, status=body.validated_data["status"], by=request.user)
        return Response(ComponentSerializer(self.get_queryset().get(pk=component.pk)).data)


class NoticeViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Public notices (incidents and maintenance) of your teams' pages, newest first."""

    serializer_class = NoticeSerializer
    queryset = Notice.objects.none()
    lookup_field = "public_id"

    def get_queryset(self) -> Any:
        pages = selectors.pages_for_user(user=self.request.user, token=_token(self.request))
        notices = selectors.notices_with_updates().filter(page__in=pages)
        return (
            selectors.with_incident_visibility(notices, user=self.request.user, token=_token(self.request))
            .select_related("page", "incident")
            .order_by("-started_at", "-pk")
        )

    def _page(self, public_id: str) -> StatusPage:
        page = selectors.pages_for_user(user=self.request.user, token=_token(self.request)).filter(public_id=public_id)
        found = page.first()
        if found is None:
            raise serializers.ValidationError({"page": ["No status page of yours has this id."]})
        return found

    @extend_schema(request=NoticeCreateSerializer, responses={201: NoticeSerializer})
    def create(self, request: Request) -> Response:
        body = NoticeCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        page = self._page(data.pop("page"))
        statuses = _statuses(page, data.pop("components"))
        incident = None
        if data["incident"] is not None:
            try:
                incident = incident_selectors.incident_get_for_user(
                    user=request.user, number=data["incident"], token=_token(request)
                )
            except Http404 as exc:
                raise serializers.ValidationError({"incident": ["No incident of yours has this number."]}) from exc
        data["incident"] = incident
        notice = services.notice_create(page=page, statuses=statuses, by=request.user, **data)
        return Response(NoticeSerializer(self.get_queryset().get(pk=notice.pk)).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=NoticeUpdateCreateSerializer, responses=NoticeSerializer)
    @action(detail=True, methods=["post"])
    def updates(self, request: Request, public_id: str) -> Response:
        """Posts an update: its status, its text for customers, and component statuses."""
        notice = self.get_object()
        body = NoticeUpdateCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        statuses = _statuses(notice.page, data.pop("components"))
        if notice.is_maintenance:
            if statuses or data["impact"]:
                raise DomainError("Maintenance sets its components by itself; send only a status and a body.")
            services.maintenance_transition(notice=notice, status=data["status"], body=data["body"], by=request.user)
        else:
            services.notice_update(notice=notice, statuses=statuses, by=request.user, **data)
        return Response(NoticeSerializer(self.get_queryset().get(pk=notice.pk)).data)


router.register("status-pages", StatusPageViewSet, basename="status-page")
router.register("status-components", ComponentViewSet, basename="status-component")
router.register("status-notices", NoticeViewSet, basename="status-notice")
urlpatterns = router.urls
