"""API for postmortems and action items; transitions as actions, rules in the services."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from incidents.selectors import incident_get_for_user
from oncall.api.teams import _token
from oncall.models import User
from oncall.selectors import is_member
from postmortems import selectors, services
from postmortems.models import ActionItem, ContributingFactor, Postmortem

router = SimpleRouter()


class FactorSerializer(serializers.ModelSerializer):
    class Meta:
        model = ContributingFactor
        fields = ["id", "kind", "description"]


class FindingSerializer(serializers.Serializer):
    text = serializers.CharField()
    reason = serializers.CharField()


class PostmortemSerializer(serializers.ModelSerializer):
    incident = serializers.IntegerField(source="incident.number", read_only=True)
    team = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    # Null when the owner's account is gone (SET_NULL); a new owner must be named, not cleared.
    owner = serializers.SlugRelatedField(
        slug_field="username", queryset=User.objects.all(), required=False, allow_null=True
    )
    reviewers = serializers.SlugRelatedField(slug_field="username", many=True, read_only=True)
    factors = FactorSerializer(many=True, read_only=True)

    class Meta:
        model = Postmortem
        fields = [
            "incident", "team", "owner", "status", "due_at", "overdue_since", "reviewers", "review_at", "summary",
            "users_affected_percent", "peak_error_rate_percent", "latency_impact", "features_affected",
            "business_impact", "timeline", "root_cause", "went_well", "went_badly", "factors", "created_at",
            "published_at",
        ]  # fmt: skip
        read_only_fields = ["status", "due_at", "overdue_since", "timeline", "created_at", "published_at"]

    def validate_owner(self, owner: User | None) -> User:
        if owner is None:
            raise serializers.ValidationError("Name the new owner: a postmortem always has one.")
        return owner


class PostmortemTransitionSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Postmortem.Status.choices)
    reviewers = serializers.SlugRelatedField(
        slug_field="username", many=True, queryset=User.objects.all(), required=False
    )


class CreateSerializer(serializers.Serializer):
    incident = serializers.IntegerField(help_text="The incident number.")


class PostmortemViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Postmortems of the incidents you can see, by incident number."""

    serializer_class = PostmortemSerializer
    queryset = Postmortem.objects.none()
    lookup_field = "incident"
    lookup_value_regex = r"\d+"

    def get_queryset(self) -> QuerySet[Postmortem]:
        found = selectors.postmortem_list_visible(user=self.request.user, token=_token(self.request)).prefetch_related(
            "reviewers", "factors"
        )
        if self.request.query_params.get("overdue") == "true":
            found = found.filter(overdue_since__isnull=False).exclude(status=Postmortem.Status.PUBLISHED)
        if self.request.query_params.get("owner") == "me":
            found = found.filter(owner=self.request.user)
        if team := self.request.query_params.get("team"):
            found = found.filter(team__slug=team)
        if state := self.request.query_params.get("status"):
            found = found.filter(status=state)
        return found

    def get_object(self) -> Postmortem:
        return selectors.postmortem_get_for_user(
            user=self.request.user, number=int(self.kwargs["incident"]), token=_token(self.request)
        )

    def _acting(self) -> Postmortem:
        """As the web: writes are for the team's members; to anyone else the postmortem is 404."""
        return selectors.postmortem_get_for_member(
            user=self.request.user, number=int(self.kwargs["incident"]), token=_token(self.request)
        )

    @extend_schema(request=CreateSerializer, responses=PostmortemSerializer)
    def create(self, request: Request) -> Response:
        """Opens the postmortem of any incident on demand (SEV-1/2 get one when resolved)."""
        body = CreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        incident = incident_get_for_user(
            user=request.user, number=body.validated_data["incident"], token=_token(request)
        )
        if not is_member(user=request.user, team=incident.team_id):
            raise Http404("No such incident.")
        postmortem = services.postmortem_create(incident=incident, by=request.user)
        return Response(self.get_serializer(postmortem).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=PostmortemSerializer,
        responses=inline_serializer(
            "PostmortemEdit", {"postmortem": PostmortemSerializer(), "warnings": FindingSerializer(many=True)}
        ),
    )
    def partial_update(self, request: Request, incident: str) -> Response:
        """Edits a draft; answers with the blameless check's warnings, which never block."""
        postmortem = self._acting()
        body = self.get_serializer(postmortem, data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        findings = services.postmortem_update(postmortem=postmortem, by=request.user, **body.validated_data)
        fresh = self.get_object()
        return Response(
            {"postmortem": self.get_serializer(fresh).data, "warnings": FindingSerializer(findings, many=True).data}
        )

    @extend_schema(request=PostmortemTransitionSerializer, responses=PostmortemSerializer)
    @action(detail=True, methods=["post"])
    def transition(self, request: Request, incident: str) -> Response:
        """draft → in_review (with reviewers) → published; in_review → draft."""
        postmortem = self._acting()
        body = PostmortemTransitionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.postmortem_transition(postmortem=postmortem, by=request.user, **body.validated_data)
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(request=FactorSerializer, responses={201: FactorSerializer})
    @action(detail=True, methods=["post"])
    def factors(self, request: Request, incident: str) -> Response:
        postmortem = self._acting()
        body = FactorSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        factor = services.factor_add(postmortem=postmortem, by=request.user, **body.validated_data)
        return Response(FactorSerializer(factor).data, status=status.HTTP_201_CREATED)


class ActionItemSerializer(serializers.ModelSerializer):
    incident = serializers.IntegerField(source="postmortem.incident.number")
    team = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    owner = serializers.SlugRelatedField(
        slug_field="username", queryset=User.objects.all(), required=False, allow_null=True
    )
    missing = serializers.ListField(child=serializers.CharField(), read_only=True)
    is_overdue = serializers.SerializerMethodField()

    class Meta:
        model = ActionItem
        fields = [
            "id", "incident", "team", "title", "owner", "due_date", "priority", "kind", "verification",
            "expected_impact", "status", "wont_do_reason", "evidence", "done_at", "overdue_since", "missing",
            "is_overdue", "created_at",
        ]  # fmt: skip
        read_only_fields = ["status", "wont_do_reason", "evidence", "done_at", "overdue_since", "created_at"]

    def get_is_overdue(self, item: ActionItem) -> bool:
        return item.is_overdue


class StatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=ActionItem.Status.choices)
    evidence = serializers.CharField(required=False, allow_blank=True, default="")
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class ReassignSerializer(serializers.Serializer):
    items = serializers.ListField(child=serializers.IntegerField(), min_length=1, max_length=500)
    owner = serializers.SlugRelatedField(slug_field="username", queryset=User.objects.all())


ITEM_FILTERS = [
    OpenApiParameter("overdue", OpenApiTypes.BOOL),
    OpenApiParameter("owner", OpenApiTypes.STR, description="A username, or `me`."),
    OpenApiParameter("team", OpenApiTypes.STR, description="Team slug."),
    OpenApiParameter("status", OpenApiTypes.STR),
    OpenApiParameter("priority", OpenApiTypes.INT),
]


@extend_schema(parameters=ITEM_FILTERS)
class ActionItemViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Action items of your teams' postmortems, tracked like production bugs."""

    serializer_class = ActionItemSerializer
    queryset = ActionItem.objects.none()
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> QuerySet[ActionItem]:
        return selectors.action_items_filtered(
            user=self.request.user,
            params=self.request.query_params,
            now=timezone.now(),
            token=_token(self.request),
        )

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        number = data.pop("postmortem")["incident"]["number"]
        postmortem = selectors.postmortem_get_for_member(user=request.user, number=number, token=_token(request))
        item = services.action_item_create(postmortem=postmortem, by=request.user, **data)
        return Response(self.get_serializer(item).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        item = self.get_object()
        body = self.get_serializer(item, data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        data.pop("postmortem", None)
        services.action_item_update(item=item, by=request.user, **data)
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(request=StatusSerializer, responses=ActionItemSerializer)
    @action(detail=True, methods=["post"], url_path="status")
    def set_status(self, request: Request, pk: str) -> Response:
        """Done needs `evidence`; won't do needs a `reason`."""
        item = self.get_object()
        body = StatusSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.action_item_set_status(item=item, by=request.user, **body.validated_data)
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(
        request=ReassignSerializer,
        responses=inline_serializer("Reassigned", {"reassigned": serializers.IntegerField()}),
    )
    @action(detail=False, methods=["post"])
    def reassign(self, request: Request) -> Response:
        """A manager hands open items of the teams they manage to another member."""
        body = ReassignSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        items = list(self.get_queryset().filter(pk__in=body.validated_data["items"]))
        if len(items) != len(set(body.validated_data["items"])):
            raise Http404("No such action item.")
        count = services.action_items_reassign(items=items, owner=body.validated_data["owner"], by=request.user)
        return Response({"reassigned": count})


router.register("postmortems", PostmortemViewSet, basename="postmortem")
router.register("action-items", ActionItemViewSet, basename="action-item")
urlpatterns = router.urls
