"""JSON API: kudos (README "Kudos")."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from codequest.api import MAX_ID, body_validated
from integrations.models import Organization
from reviews.models import Member
from rewards import kudos
from rewards.models import Kudos


def _person(member: Member | None) -> str | None:
    if member is None:
        return None
    return member.user.get_username() if member.user else member.display_name


class KudosOutputSerializer(serializers.ModelSerializer):
    team = serializers.CharField(source="organization.slug")
    giver = serializers.SerializerMethodField()
    receiver = serializers.SerializerMethodField()
    review = serializers.IntegerField(source="review_id", allow_null=True)
    pull_request = serializers.SerializerMethodField()

    class Meta:
        model = Kudos
        fields = [
            "id",
            "kind",
            "team",
            "giver",
            "receiver",
            "message",
            "review",
            "pull_request",
            "created_at",
        ]

    def get_giver(self, item: Kudos) -> str | None:
        return _person(item.giver)

    def get_receiver(self, item: Kudos) -> str | None:
        return _person(item.receiver)

    def get_pull_request(self, item: Kudos) -> str | None:
        if item.review is None:
            return None
        pull = item.review.pull_request
        return f"{pull.repository.full_name}#{pull.number}"


class KudosListApi(ListAPIView):
    """Kudos the person gave or received, newest first; POST thanks a
    teammate (three in any seven days)."""

    class InputSerializer(serializers.Serializer):
        to = serializers.CharField(max_length=150, help_text="The teammate's username.")
        message = serializers.CharField(max_length=200)
        team = serializers.SlugField(
            required=False, help_text="Needed when you share several teams."
        )

    serializer_class = KudosOutputSerializer

    def get_queryset(self):
        return kudos.kudos_visible_to(user=self.request.user)

    @extend_schema(request=InputSerializer, responses={201: KudosOutputSerializer})
    def post(self, request: Request) -> Response:
        data = body_validated(self.InputSerializer, request.data)
        receiver = Member.objects.filter(user__username=data["to"]).first()
        shared = Organization.objects.filter(memberships__user=request.user)
        if receiver is not None:
            shared = shared.filter(memberships__user_id=receiver.user_id)
        if data.get("team"):
            shared = shared.filter(slug=data["team"])
        teams = list(shared.distinct()[:2])
        if receiver is None or not teams:
            raise NotFound({"error": f"no teammate {data['to']}"})
        if len(teams) > 1:
            return Response({"team": ["you share several teams: say which"]}, 400)
        try:
            given = kudos.peer_kudos_give(
                user=request.user,
                organization=teams[0],
                receiver=receiver,
                message=data["message"],
            )
        except kudos.BudgetSpentError as exc:
            return Response({"error": str(exc)}, status=409)
        except kudos.KudosError as exc:
            return Response({"error": str(exc)}, status=400)
        return Response(KudosOutputSerializer(given).data, status=201)


class ReviewHelpfulApi(APIView):
    """POST /api/v1/reviews/{id}/helpful/ marks a review of one's own pull
    request helpful (the reviewer earns a bonus, once per pull request);
    DELETE takes the mark back."""

    @extend_schema(request=None, responses={200: KudosOutputSerializer})
    def post(self, request: Request, review_id: int) -> Response:
        return self._mark(request, review_id, helpful=True)

    @extend_schema(request=None, responses={204: None})
    def delete(self, request: Request, review_id: int) -> Response:
        return self._mark(request, review_id, helpful=False)

    def _mark(self, request: Request, review_id: int, *, helpful: bool) -> Response:
        review = (
            kudos.reviews_visible_to(request.user).filter(pk=review_id).first()
            if review_id <= MAX_ID
            else None
        )
        if review is None:
            raise NotFound({"error": f"no review {review_id}"})
        try:
            mark = kudos.helpful_mark(user=request.user, review=review, helpful=helpful)
        except kudos.NotTheAuthorError as exc:
            return Response({"error": str(exc)}, status=403)
        except kudos.KudosError as exc:
            return Response({"error": str(exc)}, status=400)
        if mark is None:
            return Response(status=204)
        return Response(KudosOutputSerializer(mark).data)
