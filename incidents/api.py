"""API for incidents: create, read, filter, update the text; transitions and the rest as actions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from incidents import metrics, selectors, services
from incidents.defaults import RESOLUTION_CHECKLIST, TRIAGE_CHECKLIST
from incidents.models import Incident, IncidentUpdate, RoleAssignment, Severity, TimelineEntry
from oncall.api.teams import _token
from oncall.models import Page, Service, Team, User
from oncall.selectors import team_ids_for_user

# No root view: the portal API root belongs to oncall.api_urls.
router = SimpleRouter()


class RoleSerializer(serializers.ModelSerializer):
    user = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = RoleAssignment
        fields = ["role", "user", "started_at", "ended_at"]


class IncidentServicesField(serializers.ManyRelatedField):
    def get_attribute(self, instance: Incident) -> Any:
        # Lists prefetch the services as a list (selectors.incident_list_visible).
        prefetched = getattr(instance, "service_list", None)
        return prefetched if prefetched is not None else super().get_attribute(instance)


class IncidentSerializer(serializers.ModelSerializer):
    team = serializers.SlugRelatedField(slug_field="slug", queryset=Team.objects.none())
    services = IncidentServicesField(
        child_relation=serializers.SlugRelatedField(slug_field="slug", queryset=Service.objects.none()),
        required=False,
    )
    page = serializers.PrimaryKeyRelatedField(queryset=Page.objects.none(), required=False, allow_null=True)
    reference = serializers.CharField(read_only=True)
    current_roles = RoleSerializer(many=True, read_only=True)
    # Declared so the schema keeps "" (not chosen yet): ModelSerializer drops allow_blank on read-only fields.
    mitigation_path = serializers.ChoiceField(choices=Incident.Mitigation.choices, allow_blank=True, read_only=True)

    class Meta:
        model = Incident
        fields = [
            "number", "reference", "team", "title", "summary", "severity", "status", "detection_source",
            "is_restricted", "services", "page", "impact_trend", "mitigation_path", "triage", "root_cause", "fix",
            "impact_started_at", "detected_at", "declared_at", "acknowledged_at", "mitigated_at",
            "monitoring_since", "resolved_at", "closed_at", "next_update_due_at", "current_roles",
        ]  # fmt: skip
        read_only_fields = [
            "number", "status", "impact_trend", "mitigation_path", "triage", "root_cause", "fix", "declared_at",
            "acknowledged_at", "mitigated_at", "monitoring_since", "resolved_at", "closed_at", "next_update_due_at",
        ]  # fmt: skip
        extra_kwargs = {"detected_at": {"required": False}}

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        request = self.context.get("request")
        if request is not None and request.user.is_authenticated:
            # A team-scoped token declares only in its team.
            teams = team_ids_for_user(user=request.user, token=_token(request))
            fields["team"].queryset = Team.objects.filter(pk__in=teams)
            fields["services"].child_relation.queryset = Service.objects.filter(team__in=teams)
            fields["page"].queryset = Page.objects.filter(team__in=teams)
        return fields


class IncidentEditSerializer(serializers.ModelSerializer):
    class Meta:
        model = Incident
        fields = ["title", "summary", "is_restricted"]


class TransitionSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Incident.Status.choices)
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class ResolveSerializer(serializers.Serializer):
    checks = serializers.ListField(
        child=serializers.ChoiceField(choices=[key for key, _label in RESOLUTION_CHECKLIST]), required=False
    )
    root_cause = serializers.CharField(required=False, allow_blank=True, default="", max_length=300)
    fix = serializers.CharField(required=False, allow_blank=True, default="", max_length=300)
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=300)


class SeveritySerializer(serializers.Serializer):
    severity = serializers.ChoiceField(choices=Severity.choices)
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class AssignSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=RoleAssignment.Role.choices)
    user = serializers.SlugRelatedField(slug_field="username", queryset=User.objects.all())


class TimelineSerializer(serializers.ModelSerializer):
    author = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    corrects = serializers.PrimaryKeyRelatedField(
        queryset=TimelineEntry.objects.none(), required=False, allow_null=True
    )
    happened_at = serializers.DateTimeField(required=False)

    class Meta:
        model = TimelineEntry
        fields = ["id", "kind", "happened_at", "recorded_at", "author", "text", "corrects"]
        read_only_fields = ["kind", "recorded_at"]


class UpdateSerializer(serializers.ModelSerializer):
    posted_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = IncidentUpdate
        fields = ["number", "status", "known", "doing", "trend", "eta", "next_update_at", "posted_by", "posted_at"]
        read_only_fields = ["number", "status", "next_update_at", "posted_at"]


class HelpSerializer(serializers.Serializer):
    need = serializers.CharField(max_length=200)
    why = serializers.CharField(max_length=300)


class TriageSerializer(serializers.Serializer):
    answers = serializers.DictField(child=serializers.CharField(allow_blank=True, max_length=500))
    mitigation_path = serializers.ChoiceField(
        choices=[("", "none"), *Incident.Mitigation.choices], required=False, default=""
    )

    def validate_answers(self, value: dict[str, str]) -> dict[str, str]:
        unknown = set(value) - {key for key, _q in TRIAGE_CHECKLIST}
        if unknown:
            raise serializers.ValidationError(f"Unknown questions: {', '.join(sorted(unknown))}.")
        return value


FILTERS = [
    OpenApiParameter("team", OpenApiTypes.STR, description="Team slug."),
    OpenApiParameter("severity", OpenApiTypes.INT, enum=[1, 2, 3, 4]),
    OpenApiParameter("status", OpenApiTypes.STR, description="A status, or `open`."),
    OpenApiParameter("service", OpenApiTypes.STR, description="Service slug."),
    OpenApiParameter("since", OpenApiTypes.DATETIME, description="Declared at or after."),
    OpenApiParameter("until", OpenApiTypes.DATETIME, description="Declared before."),
    OpenApiParameter("q", OpenApiTypes.STR, description="Text in the title or summary."),
]


class FilterSerializer(serializers.Serializer):
    team = serializers.CharField(required=False, default="")
    severity = serializers.ChoiceField(choices=Severity.choices, required=False, allow_null=True, default=None)
    status = serializers.CharField(required=False, default="")
    service = serializers.CharField(required=False, default="")
    since = serializers.DateTimeField(required=False, allow_null=True, default=None)
    until = serializers.DateTimeField(required=False, allow_null=True, default=None)
    q = serializers.CharField(required=False, default="")

    def validate_status(self, value: str) -> str:
        if value and value != "open" and value not in Incident.Status.values:
            raise serializers.ValidationError(f"Choose one of: open, {', '.join(Incident.Status.values)}.")
        return value

    def filters(self) -> selectors.IncidentFilters:
        data = self.validated_data
        return selectors.IncidentFilters(
            team=data["team"],
            severity=data["severity"],
            status="" if data["status"] == "open" else data["status"],
            open_only=data["status"] == "open",
            service=data["service"],
            since=data["since"],
            until=data["until"],
            text=data["q"],
        )


@extend_schema(parameters=FILTERS)
class IncidentViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Incidents you can see: all that are not restricted, and restricted ones of your teams."""

    serializer_class = IncidentSerializer
    queryset = Incident.objects.none()
    lookup_field = "number"
    lookup_value_regex = r"\d+"
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> Any:
        if self.action != "list":
            return selectors.incident_list_visible(user=self.request.user, token=_token(self.request))
        query = FilterSerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        return selectors.incident_list_visible(
            user=self.request.user, token=_token(self.request), filters=query.filters()
        )

    def get_object(self) -> Incident:
        return selectors.incident_get_for_user(
            user=self.request.user, number=int(self.kwargs["number"]), token=_token(self.request)
        )

    def _acting(self) -> Incident:
        incident = self.get_object()
        if not selectors.can_act(user=self.request.user, incident=incident):
            raise Http404("No such incident.")
        return incident

    def _apply(self, body_class: type[serializers.Serializer], service: Callable[..., object]) -> Response:
        """Validates the body, runs the service on the incident, answers with the incident as it is now."""
        incident = self._acting()
        body = body_class(data=self.request.data, partial=body_class is IncidentEditSerializer)
        body.is_valid(raise_exception=True)
        service(incident=incident, by=self.request.user, **body.validated_data)
        return self._fresh(incident)

    def _fresh(self, incident: Incident) -> Response:
        return Response(IncidentSerializer(self.get_object(), context=self.get_serializer_context()).data)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data.pop("reference", None)
        incident = services.incident_declare(by=request.user, **data)
        body = IncidentSerializer(self.get_queryset().get(pk=incident.pk), context=self.get_serializer_context())
        return Response(body.data, status=status.HTTP_201_CREATED)

    @extend_schema(request=IncidentEditSerializer, responses=IncidentSerializer)
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._apply(IncidentEditSerializer, services.incident_edit)

    @extend_schema(request=None, responses=IncidentSerializer)
    @action(detail=True, methods=["post"])
    def acknowledge(self, request: Request, number: str) -> Response:
        """Records that a responder is on it (MTTA counts to here)."""
        incident = self._acting()
        services.incident_acknowledge(incident=incident, by=request.user)
        return self._fresh(incident)

    @extend_schema(request=TransitionSerializer, responses=IncidentSerializer)
    @action(detail=True, methods=["post"])
    def transition(self, request: Request, number: str) -> Response:
        """Moves the status; `resolve` also records the resolution criteria, root cause and fix."""
        return self._apply(TransitionSerializer, services.incident_transition)

    @extend_schema(request=ResolveSerializer, responses=IncidentSerializer)
    @action(detail=True, methods=["post"])
    def resolve(self, request: Request, number: str) -> Response:
        """Resolves after the watch period with the criteria confirmed, or with a reason."""
        return self._apply(ResolveSerializer, services.incident_resolve)

    @extend_schema(request=SeveritySerializer, responses=IncidentSerializer)
    @action(detail=True, methods=["post"])
    def severity(self, request: Request, number: str) -> Response:
        return self._apply(SeveritySerializer, services.incident_set_severity)

    @extend_schema(
        request=AssignSerializer,
        responses=inline_serializer("RoleWarnings", {"warnings": serializers.ListField(child=serializers.CharField())}),
    )
    @action(detail=True, methods=["post"])
    def roles(self, request: Request, number: str) -> Response:
        """Hands a role to a team member; answers with warnings such as a SEV-2 without commander."""
        incident = self._acting()
        body = AssignSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        warnings = services.role_assign(incident=incident, by=request.user, **body.validated_data)
        return Response({"warnings": warnings})

    @extend_schema(methods=["get"], responses=TimelineSerializer(many=True))
    @extend_schema(methods=["post"], request=TimelineSerializer, responses={201: TimelineSerializer})
    @action(detail=True, methods=["get", "post"], pagination_class=None)
    def timeline(self, request: Request, number: str) -> Response:
        """The timeline, oldest first; `POST` adds a note (or a correction with `corrects`)."""
        if request.method == "GET":
            incident = self.get_object()
            return Response(TimelineSerializer(selectors.timeline(incident=incident), many=True).data)
        incident = self._acting()
        body = TimelineSerializer(data=request.data)
        body.fields["corrects"].queryset = incident.timeline.all()
        body.is_valid(raise_exception=True)
        data = body.validated_data
        entry = services.note_add(
            incident=incident,
            text=data["text"],
            happened_at=data.get("happened_at"),
            corrects=data.get("corrects"),
            by=request.user,
        )
        return Response(TimelineSerializer(entry).data, status=status.HTTP_201_CREATED)

    @extend_schema(methods=["get"], responses=UpdateSerializer(many=True))
    @extend_schema(methods=["post"], request=UpdateSerializer, responses={201: UpdateSerializer})
    @action(detail=True, methods=["get", "post"], pagination_class=None)
    def updates(self, request: Request, number: str) -> Response:
        """Internal updates; `POST` posts the next one to the team's channels."""
        if request.method == "GET":
            incident = self.get_object()
            return Response(UpdateSerializer(incident.updates.select_related("posted_by"), many=True).data)
        incident = self._acting()
        body = UpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        update = services.update_post(
            incident=incident,
            known=data["known"],
            doing=data["doing"],
            trend=data["trend"],
            eta=data.get("eta", ""),
            by=request.user,
        )
        return Response(UpdateSerializer(update).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=HelpSerializer, responses={201: TimelineSerializer})
    @action(detail=True, methods=["post"])
    def help(self, request: Request, number: str) -> Response:
        incident = self._acting()
        body = HelpSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        entry = services.help_request(incident=incident, by=request.user, **body.validated_data)
        return Response(TimelineSerializer(entry).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=TriageSerializer, responses=IncidentSerializer)
    @action(detail=True, methods=["post"])
    def triage(self, request: Request, number: str) -> Response:
        return self._apply(TriageSerializer, services.triage_record)


class MetricsSerializer(serializers.Serializer):
    severity = serializers.IntegerField()
    incidents = serializers.IntegerField()
    mttd_minutes = serializers.FloatField(allow_null=True)
    mtta_minutes = serializers.FloatField(allow_null=True)
    mttr_minutes = serializers.FloatField(allow_null=True)


def _minutes(value: dt.timedelta | None) -> float | None:
    return None if value is None else round(value.total_seconds() / 60, 1)


class IncidentMetricsViewSet(viewsets.ViewSet):
    """Mean times per severity over the incidents you can see (same filters as the list)."""

    @extend_schema(parameters=FILTERS, responses=MetricsSerializer(many=True))
    def list(self, request: Request) -> Response:
        query = FilterSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        found = selectors.incident_list_visible(user=request.user, token=_token(request), filters=query.filters())
        rows = [
            {
                "severity": row.key,
                "incidents": row.count,
                "mttd_minutes": _minutes(row.mttd),
                "mtta_minutes": _minutes(row.mtta),
                "mttr_minutes": _minutes(row.mttr),
            }
            for row in metrics.mean_times_by_severity(found)
        ]
        return Response(MetricsSerializer(rows, many=True).data)


router.register("incidents/metrics", IncidentMetricsViewSet, basename="incident-metrics")
router.register("incidents", IncidentViewSet, basename="incident")
urlpatterns = router.urls
