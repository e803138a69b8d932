from django.urls import path

from rewards import api, kudos_api, quests_api, spending_api

app_name = "rewards"

urlpatterns = [
    path("api/v1/leaderboard/", api.LeaderboardListApi.as_view(), name="leaderboard"),
    path("api/v1/points/", api.PointsListApi.as_view(), name="points"),
    path("api/v1/snapshots/", api.SnapshotListApi.as_view(), name="snapshots"),
    path("api/v1/badges/", api.BadgeListApi.as_view(), name="badges"),
    path("api/v1/kudos/", kudos_api.KudosListApi.as_view(), name="kudos"),
    path(
        "api/v1/reviews/<int:review_id>/helpful/",
        kudos_api.ReviewHelpfulApi.as_view(),
        name="review-helpful",
    ),
    path("api/v1/quests/", quests_api.QuestListApi.as_view(), name="quests"),
    path(
        "api/v1/quests/templates/",
        quests_api.QuestTemplateListApi.as_view(),
        name="quest-templates",
    ),
    path("api/v1/rewards/", spending_api.RewardListApi.as_view(), name="rewards"),
    path(
        "api/v1/rewards/<int:reward_id>/",
        spending_api.RewardDetailApi.as_view(),
        name="reward",
    ),
    path(
        "api/v1/rewards/<int:reward_id>/redeem/",
        spending_api.RewardRedeemApi.as_view(),
        name="reward-redeem",
    ),
    path(
        "api/v1/redemptions/",
        spending_api.RedemptionListApi.as_view(),
        name="redemptions",
    ),
    path(
        "api/v1/redemptions/<int:redemption_id>/approve/",
        spending_api.RedemptionApproveApi.as_view(),
        name="redemption-approve",
    ),
    path(
        "api/v1/redemptions/<int:redemption_id>/decline/",
        spending_api.RedemptionDeclineApi.as_view(),
        name="redemption-decline",
    ),
]
