"""API for schedules: layers, overrides, cover requests, final shifts and who is on call."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import BaseRouter

from oncall import selectors
from oncall import selectors_schedules as sched
from oncall.api.teams import VisibleTeamField, _token
from oncall.models import Layer, LayerParticipant, Override, Schedule, SwapRequest, User
from oncall.services import schedules as services

MAX_INTERVAL = dt.timedelta(days=92)
# Instants a question about shifts may name: the schedule arithmetic steps days and shifts around
# them, and next to datetime's own limits (years 1 and 9999) that overflows.
EARLIEST = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(3000, 1, 1, tzinfo=dt.UTC)


def _in_range(name: str, value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and not EARLIEST <= value < LATEST:
        raise ValidationError({name: ["Ask about instants from 1970 to 2999."]})
    return value


def register(router: BaseRouter) -> None:
    router.register("schedules", ScheduleViewSet, basename="schedule")
    router.register("layers", LayerViewSet, basename="layer")
    router.register("overrides", OverrideViewSet, basename="override")
    router.register("swap-requests", SwapRequestViewSet, basename="swap-request")
    router.register("oncall/now", OnCallNowViewSet, basename="oncall-now")


def _visible_layers(request: Request) -> QuerySet[Layer]:
    teams = selectors.team_ids_for_user(user=request.user, token=_token(request))
    return Layer.objects.filter(schedule__team__in=teams).select_related("schedule__team")


@extend_schema_field(OpenApiTypes.STR)
class TeammateField(serializers.SlugRelatedField):
    """A person by username, among the members of the requester's teams."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(slug_field="username", **kwargs)

    def get_queryset(self) -> QuerySet[User]:
        request = self.context["request"]
        return User.objects.filter(
            memberships__team__in=selectors.team_ids_for_user(user=request.user, token=_token(request))
        ).distinct()

    def to_representation(self, value: User | LayerParticipant) -> str:
        # Read from a layer, the relation yields participant rows, in rotation order.
        user = value.user if isinstance(value, LayerParticipant) else value
        return user.username


class VisibleLayerField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self) -> QuerySet[Layer]:
        return _visible_layers(self.context["request"])


class LayerSerializer(serializers.ModelSerializer):
    schedule = serializers.SlugRelatedField(slug_field="slug", queryset=Schedule.objects.none())
    participants = TeammateField(many=True, required=False)

    class Meta:
        model = Layer
        fields = [
            "id",
            "schedule",
            "name",
            "position",
            "shift_length",
            "shift_unit",
            "rotation_start_date",
            "handoff_time",
            "participants",
        ]
        extra_kwargs = {"position": {"required": False}}

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        request = self.context.get("request")
        if request is not None and request.user.is_authenticated:
            fields["schedule"].queryset = sched.schedule_list_for_user(user=request.user, token=_token(request))
        return fields


class ScheduleSerializer(serializers.ModelSerializer):
    team = VisibleTeamField(slug_field="slug")
    layers = serializers.SerializerMethodField()
    feed_url = serializers.SerializerMethodField()

    class Meta:
        model = Schedule
        fields = ["slug", "name", "team", "time_zone", "description", "layers", "feed_url"]
        extra_kwargs = {"slug": {"validators": []}, "time_zone": {"required": False}}
        validators: list[Any] = []

    def get_layers(self, schedule: Schedule) -> list[dict[str, Any]]:
        return [LayerSerializer(layer, context=self.context).data for layer in schedule.layers.all()]

    def get_feed_url(self, schedule: Schedule) -> str:
        request = self.context["request"]
        return request.build_absolute_uri(reverse("oncall:schedule-feed", args=[schedule.feed_secret]))


class ShiftSerializer(serializers.Serializer):
    layer = serializers.IntegerField()
    user = serializers.CharField(allow_null=True)
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    is_override = serializers.BooleanField()


def _interval(request: Request, default: dt.timedelta) -> tuple[dt.datetime, dt.datetime]:
    field = serializers.DateTimeField()
    try:
        start = field.to_internal_value(request.query_params["start"]) if "start" in request.query_params else None
        end = field.to_internal_value(request.query_params["end"]) if "end" in request.query_params else None
    except ValidationError as exc:
        raise ValidationError({"start/end": exc.detail}) from exc
    start = _in_range("start", start) or timezone.now()
    end = _in_range("end", end) or start + default
    if end <= start:
        raise ValidationError({"end": ["The end must be after the start."]})
    if end - start > MAX_INTERVAL:
        raise ValidationError({"end": ["Ask for at most 92 days at a time."]})
    return start, end


class ScheduleViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    """Schedules of your teams with their layers. Create them through `POST` (team managers)."""

    serializer_class = ScheduleSerializer
    queryset = Schedule.objects.none()  # for the schema; requests use get_queryset()
    lookup_field = "slug"
    filterset_fields = ["team__slug"]
    search_fields = ["name", "slug"]

    def get_queryset(self) -> QuerySet[Schedule]:
        return sched.schedule_list_for_user(user=self.request.user, token=_token(self.request))

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        schedule = services.schedule_create(
            team=data["team"],
            name=data["name"],
            slug=data["slug"],
            time_zone=data.get("time_zone"),
            description=data.get("description", ""),
            by=request.user,
        )
        return Response(self.get_serializer(schedule).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[
            OpenApiParameter("start", OpenApiTypes.DATETIME, description="Default: now."),
            OpenApiParameter("end", OpenApiTypes.DATETIME, description="Default: start + 7 days; at most 92 days."),
        ],
        responses=ShiftSerializer(many=True),
    )
    @action(detail=True, methods=["get"], pagination_class=None)
    def shifts(self, request: Request, slug: str) -> Response:
        """Final shifts of every layer (rotation plus overrides; gaps have `user: null`)."""
        schedule = self.get_object()
        start, end = _interval(request, dt.timedelta(days=7))
        layer_shifts = sched.schedule_final_shifts(schedule=schedule, start=start, end=end)
        people = sched.users_by_id(s.user_id for item in layer_shifts for s in item.shifts)
        rows = [
            {
                "layer": item.layer.pk,
                "user": people[s.user_id].username if s.user_id in people else None,
                "start": s.start,
                "end": s.end,
                "is_override": s.is_override,
            }
            for item in layer_shifts
            for s in item.shifts
        ]
        return Response(ShiftSerializer(rows, many=True).data)


class LayerViewSet(
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """A schedule's layers; writes need a manager of the schedule's team."""

    serializer_class = LayerSerializer
    queryset = Layer.objects.none()  # for the schema; requests use get_queryset()

    def get_queryset(self) -> QuerySet[Layer]:
        return _visible_layers(self.request).prefetch_related("participants__user")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        layer = services.layer_create(by=request.user, **data)
        return Response(self.get_serializer(layer).data, status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        layer = self.get_object()
        serializer = self.get_serializer(layer, data=request.data, partial=kwargs.get("partial", False))
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data.pop("schedule", None)
        data.pop("position", None)
        layer = services.layer_update(layer=layer, by=request.user, participants=data.pop("participants", None), **data)
        layer = self.get_queryset().get(pk=layer.pk)
        return Response(self.get_serializer(layer).data)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services.layer_delete(layer=self.get_object(), by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class OverrideSerializer(serializers.ModelSerializer):
    layer = VisibleLayerField()
    user = TeammateField()
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = Override
        fields = ["id", "layer", "user", "start_at", "end_at", "reason", "created_by", "created_at"]


class OverrideViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Cover on a layer for an interval. Members cover for themselves; managers arrange it for anyone."""

    serializer_class = OverrideSerializer
    queryset = Override.objects.none()  # for the schema; requests use get_queryset()
    filterset_fields = ["layer", "layer__schedule__slug"]

    def get_queryset(self) -> QuerySet[Override]:
        return Override.objects.filter(layer__in=_visible_layers(self.request)).select_related(
            "user", "created_by", "layer"
        )

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        override = services.override_create(by=request.user, **serializer.validated_data)
        return Response(self.get_serializer(override).data, status=status.HTTP_201_CREATED)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services.override_delete(override=self.get_object(), by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class SwapRequestSerializer(serializers.ModelSerializer):
    layer = VisibleLayerField()
    requester = TeammateField(required=False)
    taken_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = SwapRequest
        fields = ["id", "layer", "requester", "start_at", "end_at", "note", "status", "taken_by", "override"]
        read_only_fields = ["status", "override"]


class SwapRequestViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    """Requests for cover. `take` turns one into an override for you; `cancel` withdraws it."""

    serializer_class = SwapRequestSerializer
    queryset = SwapRequest.objects.none()  # for the schema; requests use get_queryset()
    filterset_fields = ["status", "layer", "layer__schedule__slug"]

    def get_queryset(self) -> QuerySet[SwapRequest]:
        return SwapRequest.objects.filter(layer__in=_visible_layers(self.request)).select_related(
            "requester", "taken_by", "layer"
        )

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        requester = data.pop("requester", request.user)
        swap = services.swap_request_create(requester=requester, by=request.user, **data)
        return Response(self.get_serializer(swap).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=SwapRequestSerializer)
    @action(detail=True, methods=["post"])
    def take(self, request: Request, pk: str) -> Response:
        swap = services.swap_request_take(swap=self.get_object(), by=request.user)
        return Response(self.get_serializer(swap).data)

    @extend_schema(request=None, responses=SwapRequestSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str) -> Response:
        swap = services.swap_request_cancel(swap=self.get_object(), by=request.user)
        return Response(self.get_serializer(swap).data)


class OnCallNowViewSet(viewsets.ViewSet):
    """Who is on call on every layer of a team's schedules, now or at `at`."""

    @extend_schema(
        parameters=[
            OpenApiParameter("team", OpenApiTypes.STR, required=True, description="Team slug."),
            OpenApiParameter("at", OpenApiTypes.DATETIME, description="Instant to ask about; default now."),
        ],
        responses=inline_serializer(
            "OnCallNow",
            {
                "schedule": serializers.CharField(),
                "layer": serializers.CharField(),
                "layer_id": serializers.IntegerField(),
                "user": serializers.CharField(allow_null=True),
                "shift_end": serializers.DateTimeField(allow_null=True),
                "next_handoff": serializers.DateTimeField(allow_null=True),
            },
            many=True,
        ),
    )
    def list(self, request: Request) -> Response:
        slug = request.query_params.get("team")
        if not slug:
            raise ValidationError({"team": ["Give the team's slug, e.g. ?team=payments."]})
        team = selectors.team_get_for_user(user=request.user, slug=slug, token=_token(request))
        at = timezone.now()
        if "at" in request.query_params:
            try:
                at = serializers.DateTimeField().to_internal_value(request.query_params["at"])
            except ValidationError as exc:
                raise ValidationError({"at": exc.detail}) from exc
            _in_range("at", at)
        rows = sched.on_call_now(schedules=sched.team_schedules(team=team), at=at)
        return Response(
            [
                {
                    "schedule": row.schedule.slug,
                    "layer": row.layer.name,
                    "layer_id": row.layer.pk,
                    "user": row.user.username if row.user else None,
                    "shift_end": row.shift_end,
                    "next_handoff": row.next_handoff,
                }
                for row in rows
            ]
        )
