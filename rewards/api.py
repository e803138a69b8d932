"""JSON API: leaderboard and points history (CONTRACT §5)."""

from __future__ import annotations

from datetime import date

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.generics import ListAPIView

from codequest.api import query_filters
from reviews.selectors import member_label
from rewards import selectors
from rewards.models import PointsEntry, TrendSnapshot


class LeaderboardListApi(ListAPIView):
    class OutputSerializer(serializers.Serializer):
        member = serializers.CharField()
        identities = serializers.ListField(child=serializers.CharField())
        points = serializers.IntegerField()
        provisional = serializers.IntegerField(
            help_text="Review credit waiting for its pull request to finish."
        )
        reviews = serializers.IntegerField()
        is_me = serializers.BooleanField(help_text="This row is the viewer's own.")
        level = serializers.IntegerField(
            allow_null=True,
            help_text='From lifetime confirmed points (README "Badges and '
            'levels"); empty for a teammate on an anonymous board.',
        )
        on_leaderboards = serializers.BooleanField(
            help_text="False only on the viewer's own row when they chose not "
            "to be shown: nobody else sees it."
        )

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
        except selectors.BoardOffError:
            raise NotFound("This team's leaderboard is off.") from None


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
        try:
            return selectors.points_list(
                user=self.request.user, member=filters.get("member", ""), via="api"
            )
        except selectors.LedgerPrivateError:
            raise NotFound(
                "No points history of that person is shared with you."
            ) from None


class SnapshotListApi(ListAPIView):
    """GET /api/v1/snapshots/: daily trend snapshots of the person's teams and
    their repositories, oldest first (``team``, ``repository`` id or full name,
    ``since`` YYYY-MM-DD)."""

    class OutputSerializer(serializers.ModelSerializer):
        team = serializers.CharField(source="organization.slug", default=None)
        repository = serializers.IntegerField(source="repository_id", default=None)
        repository_name = serializers.CharField(
            source="repository.full_name", default=None
        )

        class Meta:
            model = TrendSnapshot
            fields = [
                "day",
                "team",
                "repository",
                "repository_name",
                "open_pulls",
                "waiting_requests",
                "stuck_pulls",
                "median_first_review_hours",
                "p75_first_review_hours",
                "reviews",
                "points",
            ]

    serializer_class = OutputSerializer

    @extend_schema(
        parameters=[
            OpenApiParameter("team", str, description="organization slug"),
            OpenApiParameter("repository", str, description="id or full name"),
            OpenApiParameter("since", str, description="YYYY-MM-DD"),
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        filters = query_filters(
            self.request.query_params,
            {"team": None, "repository": None, "since": None},
        )
        since = None
        if "since" in filters:
            try:
                since = date.fromisoformat(filters["since"])
            except ValueError:
                raise ValidationError(
                    {"error": "since must be a date, YYYY-MM-DD"}
                ) from None
        return selectors.snapshot_list(
            user=self.request.user,
            team=filters.get("team", ""),
            repository=filters.get("repository", ""),
            since=since,
        )


class BadgeListApi(ListAPIView):
    """GET /api/v1/badges/: badges held by the person, and by teammates who
    share their points (README "Privacy"), newest first."""

    class OutputSerializer(serializers.Serializer):
        badge = serializers.CharField(source="badge.key")
        name = serializers.CharField(source="badge.name")
        icon = serializers.CharField(source="badge.icon")
        description = serializers.CharField(source="badge.description")
        member = serializers.CharField()
        awarded_at = serializers.DateTimeField(source="award.awarded_at")

    serializer_class = OutputSerializer

    def get_queryset(self):
        return selectors.badges_visible_to(user=self.request.user)
