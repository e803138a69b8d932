"""JSON API: the rewards catalogue and redemptions (CONTRACT §7, README "Rewards").

Team-scoped: another team's reward or redemption is a 404; a change a member
may not make is a 403; a redemption the state does not allow (too few points,
out of stock, already decided) is a 409 saying why.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from codequest.api import MAX_ID, body_validated, query_filters
from integrations.models import Organization
from integrations.selectors import organizations_administered
from rewards import spending
from rewards.models import Redemption, Reward


class RewardListApi(ListAPIView):
    """The catalogue of the person's teams, with what they may spend in each;
    a team admin adds a reward."""

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=100)
        cost = serializers.IntegerField(min_value=1, max_value=10_000_000)
        stock = serializers.IntegerField(
            min_value=0,
            max_value=1_000_000,
            required=False,
            allow_null=True,
            default=None,
            help_text="How many there are; absent or null: no limit.",
        )
        description = serializers.CharField(
            max_length=300, required=False, allow_blank=True, default=""
        )
        team = serializers.SlugField(
            required=False,
            help_text="The team's slug; may be left out by the admin of one team.",
        )

    class OutputSerializer(serializers.ModelSerializer):
        team = serializers.CharField(source="organization.slug")
        my_balance = serializers.SerializerMethodField(
            help_text="Points the viewer may spend in this reward's team now."
        )

        class Meta:
            model = Reward
            fields = [
                "id",
                "team",
                "name",
                "description",
                "cost",
                "stock",
                "is_active",
                "my_balance",
                "created_at",
            ]

        def get_my_balance(self, reward: Reward) -> int:
            return self.context["balances"](reward.organization)

    serializer_class = OutputSerializer

    @extend_schema(
        parameters=[
            OpenApiParameter("team", str, description="organization slug"),
            OpenApiParameter(
                "active", str, enum=["true", "false"], description="default true"
            ),
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        filters = query_filters(
            self.request.query_params, {"team": None, "active": ("true", "false")}
        )
        rewards = spending.rewards_visible_to(self.request.user).filter(
            is_active=filters.get("active", "true") == "true"
        )
        if "team" in filters:
            rewards = rewards.filter(organization__slug=filters["team"])
        return rewards

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "balances": _balances(self.request)}

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer})
    def post(self, request: Request) -> Response:
        data = body_validated(self.InputSerializer, request.data)
        organization = team_to_change(request, data.pop("team", ""), "add rewards")
        try:
            reward = spending.reward_create(
                user=request.user, organization=organization, **data
            )
        except spending.SpendError as exc:
            return Response({"error": str(exc)}, status=409)
        context = {"balances": _balances(request)}
        return Response(self.OutputSerializer(reward, context=context).data, 201)


class RewardDetailApi(APIView):
    """DELETE /api/v1/rewards/{id}/: a team admin stops offering a reward
    (its redemptions keep their history)."""

    @extend_schema(responses={204: None})
    def delete(self, request: Request, reward_id: int) -> Response:
        reward = _reward(request, reward_id)
        try:
            spending.reward_withdraw(user=request.user, reward=reward)
        except spending.NotTeamAdminError as exc:
            return Response({"error": str(exc)}, status=403)
        return Response(status=204)


class RedemptionOutputSerializer(serializers.ModelSerializer):
    reward = serializers.IntegerField(source="reward_id")
    reward_name = serializers.CharField(source="reward.name")
    team = serializers.CharField(source="organization.slug")
    member = serializers.SerializerMethodField()
    decided_by = serializers.SerializerMethodField()

    class Meta:
        model = Redemption
        fields = [
            "id",
            "reward",
            "reward_name",
            "team",
            "member",
            "cost",
            "status",
            "created_at",
            "decided_at",
            "decided_by",
        ]

    def get_member(self, redemption: Redemption) -> str:
        member = redemption.member
        return member.user.get_username() if member.user else member.display_name

    def get_decided_by(self, redemption: Redemption) -> str | None:
        user = redemption.decided_by
        return user.get_username() if user else None


class RewardRedeemApi(APIView):
    """POST /api/v1/rewards/{id}/redeem/: ask for a reward; its points are held
    until a team admin approves (201, ``pending``)."""

    @extend_schema(request=None, responses={201: RedemptionOutputSerializer})
    def post(self, request: Request, reward_id: int) -> Response:
        reward = _reward(request, reward_id)
        try:
            redemption = spending.redemption_request(user=request.user, reward=reward)
        except spending.SpendError as exc:
            return Response({"error": str(exc)}, status=409)
        return Response(RedemptionOutputSerializer(redemption).data, status=201)


class RedemptionListApi(ListAPIView):
    """One's own redemptions, and every one of the teams one administers;
    newest first."""

    serializer_class = RedemptionOutputSerializer

    @extend_schema(
        parameters=[
            OpenApiParameter("status", str, enum=list(Redemption.Status.values)),
            OpenApiParameter("team", str, description="organization slug"),
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        filters = query_filters(
            self.request.query_params,
            {"status": tuple(Redemption.Status.values), "team": None},
        )
        redemptions = spending.redemptions_visible_to(self.request.user)
        if "status" in filters:
            redemptions = redemptions.filter(status=filters["status"])
        if "team" in filters:
            redemptions = redemptions.filter(organization__slug=filters["team"])
        return redemptions


class RedemptionApproveApi(APIView):
    """POST /api/v1/redemptions/{id}/approve/: a team admin approves; the
    debit line is written (once: a second approve is a 409)."""

    @extend_schema(request=None, responses={200: RedemptionOutputSerializer})
    def post(self, request: Request, redemption_id: int) -> Response:
        return _decide(request, redemption_id, spending.redemption_approve)


class RedemptionDeclineApi(APIView):
    """POST /api/v1/redemptions/{id}/decline/: a team admin declines, or the
    person cancels their own; the points are free again."""

    @extend_schema(request=None, responses={200: RedemptionOutputSerializer})
    def post(self, request: Request, redemption_id: int) -> Response:
        return _decide(request, redemption_id, spending.redemption_decline)


def _decide(request: Request, redemption_id: int, service: Any) -> Response:
    redemption = (
        spending.redemptions_visible_to(request.user).filter(pk=redemption_id).first()
        if redemption_id <= MAX_ID
        else None
    )
    if redemption is None:
        raise NotFound({"error": f"no redemption {redemption_id}"})
    try:
        redemption = service(user=request.user, redemption=redemption)
    except spending.NotTeamAdminError as exc:
        return Response({"error": str(exc)}, status=403)
    except spending.SpendError as exc:
        return Response({"error": str(exc)}, status=409)
    return Response(RedemptionOutputSerializer(redemption).data)


def _reward(request: Request, reward_id: int) -> Reward:
    reward = (
        spending.rewards_visible_to(request.user).filter(pk=reward_id).first()
        if reward_id <= MAX_ID
        else None
    )
    if reward is None:
        raise NotFound({"error": f"no reward {reward_id}"})
    return reward


def team_to_change(request: Request, slug: str, what: str) -> Organization:
    """The team a new row goes to: one the person administers (``slug``, or
    their only one); 404 for a team not theirs, 403 for one they only belong
    to."""
    administered = organizations_administered(request.user)
    if slug:
        team = administered.filter(slug=slug).first()
        if team is None:
            visible = Organization.objects.filter(
                slug=slug, memberships__user=request.user
            ).exists()
            if visible:
                raise PermissionDenied(
                    {"error": f"only the admins of {slug} add rewards"}
                )
            raise NotFound({"error": f"no team {slug}"})
        return team
    teams = list(administered[:2])
    if not teams:
        raise PermissionDenied({"error": f"only a team's admins {what}"})
    if len(teams) > 1:
        raise ValidationError({"team": ["you administer several teams: say which"]})
    return teams[0]


def _balances(request: Request) -> Any:
    """The viewer's balance per team, each read once."""
    member = getattr(request.user, "member", None)
    cache: dict[int, int] = {}

    def balance(organization: Organization) -> int:
        if member is None:
            return 0
        if organization.pk not in cache:
            cache[organization.pk] = max(
                spending.balance_of(member=member, organization=organization).available,
                0,
            )
        return cache[organization.pk]

    return balance
