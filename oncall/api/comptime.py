"""API for after-hours comp time: grants (approve, decline), work logs, policies, holidays,
time taken and the manager's load report. Reads are scoped by oncall.selectors_comptime;
writes go through oncall.services.comptime.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import BaseRouter

from config.inputs import small_int
from oncall import selectors
from oncall import selectors_comptime as comp
from oncall.api.schedules import TeammateField
from oncall.api.teams import VisibleTeamField, _token
from oncall.forms_comptime import parse_month
from oncall.models import CompTimeCover, CompTimeGrant, CompTimePolicy, CompTimeUse, Holiday, Team, WorkLog
from oncall.selectors_schedules import is_manager
from oncall.services import comptime as services

HOURS = {"max_digits": 4, "decimal_places": 1}


def register(router: BaseRouter) -> None:
    router.register("comp-time-grants", CompTimeGrantViewSet, basename="comp-time-grant")
    router.register("comp-time-uses", CompTimeUseViewSet, basename="comp-time-use")
    router.register("comp-time-policies", CompTimePolicyViewSet, basename="comp-time-policy")
    router.register("holidays", HolidayViewSet, basename="holiday")
    router.register("work-logs", WorkLogViewSet, basename="work-log")
    router.register("load-report", LoadReportViewSet, basename="load-report")


def _team_param(request: Request) -> Team:
    slug = request.query_params.get("team")
    if not slug:
        raise ValidationError({"team": ["Give the team's slug, e.g. ?team=payments."]})
    return selectors.team_get_for_user(user=request.user, slug=slug, token=_token(request))


# --- grants ----------------------------------------------------------------------------------


class CoverSerializer(serializers.ModelSerializer):
    schedule = serializers.CharField(source="layer.schedule.slug", read_only=True)
    proposed_user = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    covered_by = serializers.SerializerMethodField()

    class Meta:
        model = CompTimeCover
        fields = ["layer", "schedule", "start_at", "end_at", "proposed_user", "override", "covered_by"]

    def get_covered_by(self, cover: CompTimeCover) -> str | None:
        return cover.override.user.username if cover.override else None


class CompTimeGrantSerializer(serializers.ModelSerializer):
    user = serializers.SlugRelatedField(slug_field="username", read_only=True)
    team = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    decided_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    covers = CoverSerializer(many=True, read_only=True)

    class Meta:
        model = CompTimeGrant
        fields = [
            "id",
            "user",
            "team",
            "night_of",
            "worked_minutes",
            "hours",
            "kind",
            "status",
            "covers",
            "decided_by",
            "decided_at",
            "note",
            "created_at",
        ]


class ApproveSerializer(serializers.Serializer):
    hours = serializers.DecimalField(required=False, allow_null=True, help_text="Default: as proposed.", **HOURS)
    note = serializers.CharField(required=False, allow_blank=True, max_length=300)
    cover_user = TeammateField(required=False, allow_null=True, help_text="Default: the proposed teammate.")


class DeclineSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=300)


class CompTimeGrantViewSet(viewsets.ReadOnlyModelViewSet):
    """Comp time earned by a night of work: your own, and everybody's in the teams you manage.

    A team's managers `approve` (optionally with other hours or another cover; the
    proposed covers become overrides) or `decline` a proposed grant; deciding twice: 409.
    """

    serializer_class = CompTimeGrantSerializer
    queryset = CompTimeGrant.objects.none()  # for the schema; requests use get_queryset()
    filterset_fields = ["status", "team__slug", "user__username"]

    def get_queryset(self) -> QuerySet[CompTimeGrant]:
        return comp.grant_list_for_user(user=self.request.user, token=_token(self.request))

    def _decide(self, request: Request, status_value: str, serializer: serializers.Serializer) -> Response:
        grant = self.get_object()
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        grant = services.comp_time_grant_decide(
            grant=grant,
            by=request.user,
            status=status_value,
            hours=data.get("hours"),
            note=data.get("note", ""),
            cover_user=data.get("cover_user"),
        )
        fresh = comp.grant_get_for_user(user=request.user, pk=grant.pk, token=_token(request))
        return Response(self.get_serializer(fresh).data)

    @extend_schema(request=ApproveSerializer, responses=CompTimeGrantSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str) -> Response:
        return self._decide(
            request, CompTimeGrant.Status.APPROVED, ApproveSerializer(data=request.data, context={"request": request})
        )

    @extend_schema(request=DeclineSerializer, responses=CompTimeGrantSerializer)
    @action(detail=True, methods=["post"])
    def decline(self, request: Request, pk: str) -> Response:
        return self._decide(request, CompTimeGrant.Status.DECLINED, DeclineSerializer(data=request.data))


# --- time taken ------------------------------------------------------------------------------


class CompTimeUseSerializer(serializers.ModelSerializer):
    user = TeammateField()
    team = VisibleTeamField(slug_field="slug")
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = CompTimeUse
        fields = ["id", "user", "team", "taken_on", "hours", "note", "created_by", "created_at"]


class CompTimeUseViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    """Comp time taken: your own, and everybody's in the teams you manage. Managers record it."""

    serializer_class = CompTimeUseSerializer
    queryset = CompTimeUse.objects.none()  # for the schema; requests use get_queryset()
    filterset_fields = ["team__slug", "user__username"]

    def get_queryset(self) -> QuerySet[CompTimeUse]:
        return comp.use_list_for_user(user=self.request.user, token=_token(self.request))

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        use = services.comp_time_use_create(by=request.user, **serializer.validated_data)
        return Response(self.get_serializer(use).data, status=status.HTTP_201_CREATED)


# --- policy and holidays ---------------------------------------------------------------------


class CompTimePolicySerializer(serializers.ModelSerializer):
    team = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    time_zone = serializers.CharField(source="team.time_zone", read_only=True)
    updated_at = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text="Null while the team keeps the playbook's defaults."
    )

    class Meta:
        model = CompTimePolicy
        fields = [
            "team",
            "time_zone",
            "night_start",
            "night_end",
            "count_weekends",
            "count_holidays",
            "threshold_minutes",
            "grant_kind",
            "grant_hours",
            "updated_at",
        ]


class CompTimePolicyViewSet(viewsets.GenericViewSet):
    """Each team's after-hours rule, addressed by team slug. Managers change it."""

    serializer_class = CompTimePolicySerializer
    queryset = CompTimePolicy.objects.none()  # for the schema; requests use the team's policy
    lookup_field = "team"
    lookup_value_regex = r"[a-z0-9-]+"
    # One policy per team the user belongs to: a short list, neither paged nor searched.
    pagination_class = None
    filter_backends: list[Any] = []

    def _teams(self) -> QuerySet[Team]:
        return selectors.team_list_for_user(user=self.request.user, token=_token(self.request)).select_related(
            "comp_time_policy"
        )

    def list(self, request: Request) -> Response:
        policies = []
        for team in self._teams():
            policy = getattr(team, "comp_time_policy", None) or CompTimePolicy(team=team)
            policies.append(policy)
        return Response(self.get_serializer(policies, many=True).data)

    def retrieve(self, request: Request, team: str) -> Response:
        found = selectors.team_get_for_user(user=request.user, slug=team, token=_token(request))
        return Response(self.get_serializer(comp.policy_of(team=found)).data)

    def update(self, request: Request, team: str, partial: bool = False) -> Response:
        found = selectors.team_get_for_user(user=request.user, slug=team, token=_token(request))
        serializer = self.get_serializer(comp.policy_of(team=found), data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        changes = {k: v for k, v in serializer.validated_data.items() if k in services.POLICY_FIELDS}
        policy = services.comp_time_policy_update(team=found, by=request.user, **changes)
        return Response(self.get_serializer(policy).data)

    def partial_update(self, request: Request, team: str) -> Response:
        return self.update(request, team, partial=True)


class HolidaySerializer(serializers.ModelSerializer):
    team = VisibleTeamField(slug_field="slug")

    class Meta:
        model = Holiday
        fields = ["id", "team", "date", "name"]
        validators: list[Any] = []  # duplicates are the service's to refuse, with its message


class HolidayViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Your teams' holidays. Managers add and remove them; the policy says whether they count."""

    serializer_class = HolidaySerializer
    queryset = Holiday.objects.none()  # for the schema; requests use get_queryset()
    filterset_fields = ["team__slug"]

    def get_queryset(self) -> QuerySet[Holiday]:
        teams = selectors.team_ids_for_user(user=self.request.user, token=_token(self.request))
        return Holiday.objects.filter(team__in=teams).select_related("team").order_by("date")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        holiday = services.holiday_add(by=request.user, **serializer.validated_data)
        return Response(self.get_serializer(holiday).data, status=status.HTTP_201_CREATED)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services.holiday_remove(holiday=self.get_object(), by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- work logs -------------------------------------------------------------------------------


class WorkLogSerializer(serializers.ModelSerializer):
    user = TeammateField(required=False, help_text="Default: you. Managers log work for their members.")
    team = VisibleTeamField(slug_field="slug")
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = WorkLog
        fields = ["id", "user", "team", "start_at", "end_at", "source", "reference", "page", "note", "created_by"]
        read_only_fields = ["source", "reference", "page"]
        extra_kwargs = {"note": {"required": True, "allow_blank": True}}
        # The (user, reference) constraint is for recorded spans; manual ones have no reference.
        validators: list[Any] = []


class WorkLogViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Spans worked for a team: from pages and incident roles (read only) and entered by hand.

    You log your own work; a team's managers log, change and remove it for members too.
    """

    serializer_class = WorkLogSerializer
    queryset = WorkLog.objects.none()  # for the schema; requests use get_queryset()
    filterset_fields = ["team__slug", "user__username", "source"]

    def get_queryset(self) -> QuerySet[WorkLog]:
        return comp.work_log_list_for_user(user=self.request.user, token=_token(self.request)).order_by("-start_at")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        log = services.work_log_create(
            user=data.get("user", request.user),
            team=data["team"],
            start_at=data["start_at"],
            end_at=data["end_at"],
            note=data["note"],
            by=request.user,
        )
        return Response(self.get_serializer(log).data, status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        log = self.get_object()
        serializer = self.get_serializer(log, data=request.data, partial=kwargs.get("partial", False))
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if data.get("team", log.team) != log.team or data.get("user", log.user) != log.user:
            raise ValidationError({"detail": ["A work log stays with its person and team; log a new one."]})
        log = services.work_log_update(
            log=log, by=request.user, start_at=data.get("start_at"), end_at=data.get("end_at"), note=data.get("note")
        )
        return Response(self.get_serializer(log).data)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services.work_log_delete(log=self.get_object(), by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- load report -----------------------------------------------------------------------------


class LoadRowSerializer(serializers.Serializer):
    month = serializers.CharField(help_text="YYYY-MM, in the team's zone.")
    username = serializers.CharField()
    name = serializers.CharField()
    shifts = serializers.IntegerField()
    hours_on_call = serializers.FloatField()
    pages = serializers.IntegerField()
    night_pages = serializers.IntegerField()
    hours_worked_after_hours = serializers.FloatField()
    comp_hours_granted = serializers.DecimalField(**HOURS)
    comp_hours_pending = serializers.DecimalField(**HOURS)
    comp_hours_taken = serializers.DecimalField(**HOURS)


class LoadReportViewSet(viewsets.ViewSet):
    """A team's load per person and month (managers only; members get 403): the figures of the web page."""

    @extend_schema(
        parameters=[
            OpenApiParameter("team", OpenApiTypes.STR, required=True, description="Team slug."),
            OpenApiParameter("month", OpenApiTypes.STR, description="YYYY-MM, the last month; default this month."),
            OpenApiParameter("months", OpenApiTypes.INT, description="How many months up to `month`: 1 to 24."),
        ],
        responses=LoadRowSerializer(many=True),
    )
    def list(self, request: Request) -> Response:
        team = _team_param(request)
        if not is_manager(user=request.user, team=team):
            raise PermissionDenied(f"Only managers of {team.name} see its load report.")
        now = timezone.now()
        this_month = timezone.localdate(now, timezone=ZoneInfo(team.time_zone))
        try:
            month = parse_month(request.query_params.get("month"), this_month)
        except ValueError as exc:
            raise ValidationError({"month": [str(exc)]}) from exc
        months = request.query_params.get("months", "1")
        count = small_int(months)
        if count is None or not 1 <= count <= 24:
            raise ValidationError({"months": ["Ask for 1 to 24 months."]})
        report = comp.load_report(team=team, last_month=month, months=count, now=now)
        rows = [
            {
                "month": f"{m:%Y-%m}",
                "username": row.user.username,
                "name": row.user.get_full_name(),
                "shifts": row.shifts,
                "hours_on_call": row.on_call_hours,
                "pages": row.pages,
                "night_pages": row.night_pages,
                "hours_worked_after_hours": row.after_hours_hours,
                "comp_hours_granted": row.comp_granted,
                "comp_hours_pending": row.comp_pending,
                "comp_hours_taken": row.comp_taken,
            }
            for m in report.months
            for row in report.month_rows(m)
        ]
        return Response(LoadRowSerializer(rows, many=True).data)
