from django.urls import path

from rewards import api

app_name = "rewards"

urlpatterns = [
    path("api/v1/leaderboard/", api.LeaderboardListApi.as_view(), name="leaderboard"),
    path("api/v1/points/", api.PointsListApi.as_view(), name="points"),
    path("api/v1/snapshots/", api.SnapshotListApi.as_view(), name="snapshots"),
    path("api/v1/badges/", api.BadgeListApi.as_view(), name="badges"),
]
