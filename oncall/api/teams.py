"""API for teams and services. Reads are scoped by selectors, writes go through services."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import BaseRouter

from oncall import selectors
from oncall.models import ApiToken, Membership, Service, Team
from oncall.services import teams as services


def _token(request: Request) -> ApiToken | None:
    return request.auth if isinstance(request.auth, ApiToken) else None


def register(router: BaseRouter) -> None:
    router.register("teams", TeamViewSet, basename="team")
    router.register("services", ServiceViewSet, basename="service")


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "oncall.auth.ApiTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "description": "A token from your profile page."}


class MemberSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True)
    name = serializers.CharField(source="user.get_full_name", read_only=True)

    class Meta:
        model = Membership
        fields = ["username", "name", "role"]


class TeamSerializer(serializers.ModelSerializer):
    members = MemberSerializer(source="memberships", many=True, read_only=True)

    class Meta:
        model = Team
        fields = ["slug", "name", "time_zone", "description", "members"]


class TeamViewSet(viewsets.ReadOnlyModelViewSet):
    """The teams you belong to (one team only, for a team-scoped token)."""

    serializer_class = TeamSerializer
    queryset = Team.objects.none()  # for the schema; requests use get_queryset()
    lookup_field = "slug"
    search_fields = ["name", "slug"]
    ordering_fields = ["name"]

    def get_queryset(self) -> QuerySet[Team]:
        return selectors.team_list_for_user(user=self.request.user, token=_token(self.request)).prefetch_related(
            "memberships__user"
        )


class VisibleTeamField(serializers.SlugRelatedField):
    def get_queryset(self) -> QuerySet[Team]:
        request = self.context["request"]
        return Team.objects.filter(pk__in=selectors.team_ids_for_user(user=request.user, token=_token(request)))


class ServiceSerializer(serializers.ModelSerializer):
    team = VisibleTeamField(slug_field="slug")
    runbook_missing = serializers.ListField(child=serializers.CharField(), read_only=True)
    runbook_updated_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = Service
        fields = [
            "slug",
            "name",
            "team",
            "description",
            "tier",
            *Service.RUNBOOK_FIELDS,
            "runbook_missing",
            "runbook_updated_at",
            "runbook_updated_by",
        ]
        read_only_fields = ["runbook_updated_at"]
        # Uniqueness is checked by the service layer in the same transaction as the write.
        validators: list[Any] = []
        extra_kwargs = {"slug": {"validators": []}}


class ServiceUpdateSerializer(ServiceSerializer):
    class Meta(ServiceSerializer.Meta):
        read_only_fields = ["slug", "team", "runbook_updated_at"]


class ServiceViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Services of your teams with their first-15-minutes runbooks."""

    queryset = Service.objects.none()  # for the schema; requests use get_queryset()
    lookup_field = "slug"
    filterset_fields = ["tier", "team__slug"]
    search_fields = ["name", "slug", "description"]
    ordering_fields = ["name", "tier"]

    def get_serializer_class(self) -> type[serializers.Serializer]:
        if self.action in ("update", "partial_update"):
            return ServiceUpdateSerializer
        return ServiceSerializer

    def get_queryset(self) -> QuerySet[Service]:
        return selectors.service_list_for_user(user=self.request.user, token=_token(self.request)).select_related(
            "runbook_updated_by"
        )

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        service = services.service_create(
            team=data.pop("team"), name=data.pop("name"), slug=data.pop("slug"), by=request.user, **data
        )
        return Response(ServiceSerializer(service, context=self.get_serializer_context()).data, status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        service = self.get_object()
        serializer = self.get_serializer(service, data=request.data, partial=kwargs.get("partial", False))
        serializer.is_valid(raise_exception=True)
        service = services.service_update(service=service, by=request.user, **serializer.validated_data)
        return Response(ServiceSerializer(service, context=self.get_serializer_context()).data)
