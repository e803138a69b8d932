from csp.decorators import csp_update
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)

from codequest import views
from integrations.app_views import AppInstallationListApi, app_install_callback
from integrations.dashboard import (
    api_token_revoke_view,
    api_tokens_view,
    connection_disconnect_view,
    dashboard,
    repository_connect_view,
)
from integrations.picker_views import (
    repository_connecting_view,
    repository_pick_view,
)
from integrations.practice_views import (
    practice_create_view,
    practice_round_view,
    practice_view,
)
from integrations.repository_views import (
    repository_delivery_replay_view,
    repository_disconnect_view,
    repository_reconnect_view,
    repository_settings_propose_view,
    repository_settings_view,
    repository_sync_view,
    repository_view,
)
from integrations.team_views import (
    team_board_view,
    team_follow_view,
    team_from_provider_view,
    team_invite_reset_view,
    team_join_view,
    team_member_view,
    team_refresh_view,
    team_request_view,
    team_view,
    team_writes_view,
    teams_view,
)
from reviews import views as review_views
from rewards import kudos_views, quests_views, spending_views
from rewards import views as reward_views

handler500 = "codequest.views.server_error"

urlpatterns = [
    # Webhooks first: the hottest URLs resolve without walking the others.
    path("", include("integrations.urls")),
    path("", views.home, name="home"),
    path("health/", views.health, name="health"),
    path("dashboard/", dashboard, name="dashboard"),
    path("dashboard/queue/", review_views.queue_view, name="dashboard-queue"),
    path("dashboard/stats/", review_views.stats_view, name="dashboard-stats"),
    path("dashboard/settings/", review_views.settings_view, name="dashboard-settings"),
    path(
        "dashboard/settings/privacy/",
        review_views.privacy_view,
        name="dashboard-settings-privacy",
    ),
    path(
        "dashboard/settings/away/",
        review_views.away_add_view,
        name="dashboard-away-add",
    ),
    path(
        "dashboard/settings/away/<int:window_id>/delete/",
        review_views.away_delete_view,
        name="dashboard-away-delete",
    ),
    path(
        "dashboard/leaderboard/",
        reward_views.leaderboard_view,
        name="dashboard-leaderboard",
    ),
    path("dashboard/points/", reward_views.points_view, name="dashboard-points"),
    path("dashboard/profile/", reward_views.profile_view, name="dashboard-profile"),
    path("dashboard/trends/", reward_views.trends_view, name="dashboard-trends"),
    path("dashboard/kudos/", kudos_views.kudos_view, name="dashboard-kudos"),
    path(
        "dashboard/kudos/give/",
        kudos_views.kudos_give_view,
        name="dashboard-kudos-give",
    ),
    path(
        "dashboard/reviews/<int:review_id>/helpful/",
        kudos_views.helpful_view,
        name="dashboard-review-helpful",
    ),
    path("dashboard/quests/", quests_views.quests_view, name="dashboard-quests"),
    path(
        "dashboard/quests/teams/<slug:slug>/start/",
        quests_views.quest_start_view,
        name="dashboard-quest-start",
    ),
    path("dashboard/rewards/", spending_views.rewards_view, name="dashboard-rewards"),
    path(
        "dashboard/rewards/teams/<slug:slug>/add/",
        spending_views.reward_add_view,
        name="dashboard-reward-add",
    ),
    path(
        "dashboard/rewards/<int:reward_id>/<str:action>/",
        spending_views.reward_action_view,
        name="dashboard-reward-action",
    ),
    path(
        "dashboard/redemptions/<int:redemption_id>/<str:action>/",
        spending_views.redemption_decide_view,
        name="dashboard-redemption-decide",
    ),
    path("dashboard/tokens/", api_tokens_view, name="dashboard-tokens"),
    path(
        "dashboard/tokens/<str:token_key>/revoke/",
        api_token_revoke_view,
        name="dashboard-token-revoke",
    ),
    path(
        "dashboard/repositories/connect",
        repository_connect_view,
        name="repository-connect",
    ),
    path(
        "dashboard/repositories/pick/<slug:provider>/",
        repository_pick_view,
        name="repository-pick",
    ),
    path(
        "dashboard/repositories/connecting/",
        repository_connecting_view,
        name="repository-connecting",
    ),
    path(
        "dashboard/repositories/<int:repository_id>/",
        repository_view,
        name="repository",
    ),
    path(
        "dashboard/repositories/<int:repository_id>/sync/",
        repository_sync_view,
        name="repository-sync",
    ),
    path(
        "dashboard/repositories/<int:repository_id>/settings/",
        repository_settings_view,
        name="repository-settings",
    ),
    path(
        "dashboard/repositories/<int:repository_id>/settings/propose/",
        repository_settings_propose_view,
        name="repository-settings-propose",
    ),
    path(
        "dashboard/repositories/<int:repository_id>/deliveries/<int:delivery_id>/"
        "replay/",
        repository_delivery_replay_view,
        name="repository-delivery-replay",
    ),
    path(
        "dashboard/repositories/<int:repository_id>/disconnect/",
        repository_disconnect_view,
        name="repository-disconnect",
    ),
    path(
        "dashboard/repositories/<int:repository_id>/reconnect/",
        repository_reconnect_view,
        name="repository-reconnect",
    ),
    path("dashboard/teams/", teams_view, name="dashboard-teams"),
    path(
        "dashboard/teams/from-provider/",
        team_from_provider_view,
        name="dashboard-team-from-provider",
    ),
    path("dashboard/teams/<slug:slug>/", team_view, name="dashboard-team"),
    path(
        "dashboard/teams/<slug:slug>/invite/reset/",
        team_invite_reset_view,
        name="dashboard-team-invite-reset",
    ),
    path(
        "dashboard/teams/<slug:slug>/requests/<int:request_id>/",
        team_request_view,
        name="dashboard-team-request",
    ),
    path(
        "dashboard/teams/<slug:slug>/members/<int:user_id>/",
        team_member_view,
        name="dashboard-team-member",
    ),
    path(
        "dashboard/teams/<slug:slug>/follow/",
        team_follow_view,
        name="dashboard-team-follow",
    ),
    path(
        "dashboard/teams/<slug:slug>/refresh/",
        team_refresh_view,
        name="dashboard-team-refresh",
    ),
    path(
        "dashboard/teams/<slug:slug>/writes/",
        team_writes_view,
        name="dashboard-team-writes",
    ),
    path(
        "dashboard/teams/<slug:slug>/leaderboard/",
        team_board_view,
        name="dashboard-team-board",
    ),
    path(
        "dashboard/teams/<slug:slug>/practice/",
        practice_view,
        name="dashboard-practice",
    ),
    path(
        "dashboard/teams/<slug:slug>/practice/create/",
        practice_create_view,
        name="dashboard-practice-create",
    ),
    path(
        "dashboard/teams/<slug:slug>/practice/rounds/",
        practice_round_view,
        name="dashboard-practice-round",
    ),
    path("teams/join/<str:token>/", team_join_view, name="team-join"),
    path(
        "dashboard/connections/<slug:provider>/disconnect/",
        connection_disconnect_view,
        name="connection-disconnect",
    ),
    path("accounts/", include("allauth.urls")),
    # Providers with App installations (GitHub: /auth/github/install is the
    # App's setup URL); 404 for the others.
    path("auth/<slug:provider>/install", app_install_callback, name="app-install"),
    path(
        "auth/<slug:provider>/installations",
        AppInstallationListApi.as_view(),
        name="app-installations",
    ),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path(
        "api/docs/",
        # Swagger UI from our own static files (drf-spectacular-sidecar), its
        # setup script a URL of ours too: no CDN, and the site's policy holds.
        SpectacularSwaggerSplitView.as_view(url_name="schema"),
        name="docs",
    ),
    path(
        "api/redoc/",
        # ReDoc, from our own static files as well (templates/api/redoc.html).
        # Its search runs in a worker it builds from its own code (a blob: URL);
        # the attribution logo it links from its CDN stays refused (img-src).
        csp_update({"worker-src": ["'self'", "blob:"]})(
            SpectacularRedocView.as_view(
                url_name="schema", template_name="api/redoc.html"
            )
        ),
        name="redoc",
    ),
    path("", include("reviews.urls")),
    path("", include("rewards.urls")),
    path("", include("notifications.urls")),
    path("metrics", views.metrics, name="metrics"),
]
