"""JSON API: leaderboard and points history (CONTRACT §5)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.generics import ListAPIView

from codequest.api import query_filters
from reviews.selectors import member_label
from rewards import selectors
from rewards.models import PointsEntry


class LeaderboardListApi(ListAPIView):
    class OutputSerializer(serializers.Serializer):
        member = serializers.CharField()
        identities = serializers.ListField(child=serializers.CharField())
        points = serializers.IntegerField()
        provisional = serializers.IntegerField(
            help_text="Review credit waiting for its pull request to finish."
        )
        reviews = serializers.IntegerField()

    serializer_class = OutputSerializer

    @extend_schema(
        parameters=[
            OpenApiParameter("period", str, enum=list(selectors.PERIODS)),
            OpenApiParameter("team", str, description="organization slug"),
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        filters = query_filters(
            self.request.query_params,
            {"period": tuple(selectors.PERIODS), "team": None},
        )
        try:
            return selectors.leaderboard_list(
                user=self.request.user,
                period=filters.get("period", "all"),
                team=filters.get("team", ""),
            )
        except selectors.NoSeasonError as exc:
            raise ValidationError({"error": f"period=season: {exc}"}) from None


class PointsListApi(ListAPIView):
    class OutputSerializer(serializers.ModelSerializer):
        member = serializers.SerializerMethodField()
        provider = serializers.CharField(source="identity.provider")
        repository = serializers.CharField(
            source="pull_request.repository.full_name", default=None
        )
        number = serializers.IntegerField(source="pull_request.number", default=None)
        provisional = serializers.SerializerMethodField()

        class Meta:
            model = PointsEntry
            fields = [
                "member",
                "points",
                "reason",
                "provider",
                "repository",
                "number",
                "provisional",
                "earned_at",
                "created_at",
            ]

        def get_member(self, entry: PointsEntry) -> str:
            return member_label(entry.identity)

        def get_provisional(self, entry: PointsEntry) -> bool:
            return selectors.entry_is_provisional(entry)

    serializer_class = OutputSerializer

    @extend_schema(parameters=[OpenApiParameter("member", str)])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        filters = query_filters(self.request.query_params, {"member": None})
        return selectors.points_list(
            user=self.request.user, member=filters.get("member", "")
        )
