from django.urls import path, re_path

from integrations import api, operations_api, views
from integrations.providers import provider_slugs

app_name = "integrations"

# Trailing slash optional: a provider does not follow a redirect on POST.
# Every registered provider gets the same three URLs.
PROVIDER = rf"(?P<provider>{'|'.join(provider_slugs())})"

urlpatterns = [
    re_path(rf"^webhooks/{PROVIDER}/health/?$", views.webhook_health, name="health"),
    re_path(rf"^webhooks/{PROVIDER}/?$", views.webhook_receive, name="webhook"),
    re_path(
        rf"^webhooks/{PROVIDER}/(?P<hook>[A-Za-z0-9_-]{{1,64}})/?$",
        views.webhook_receive,
        name="webhook-hook",
    ),
    path("api/v1/repositories/", api.RepositoryListApi.as_view(), name="repositories"),
    path(
        "api/v1/repositories/<int:repository_id>/info/",
        operations_api.RepositoryInfoApi.as_view(),
        name="repository-info",
    ),
    path(
        "api/v1/repositories/<int:repository_id>/settings/",
        operations_api.RepositorySettingsApi.as_view(),
        name="repository-provider-settings",
    ),
    path(
        "api/v1/repositories/<int:repository_id>/pulls/live/",
        operations_api.RepositoryPullsLiveApi.as_view(),
        name="repository-pulls-live",
    ),
    path(
        "api/v1/repositories/<int:repository_id>/issues/",
        operations_api.RepositoryIssuesApi.as_view(),
        name="repository-issues",
    ),
    path(
        "api/v1/repositories/<int:repository_id>/workflows/",
        operations_api.RepositoryWorkflowsApi.as_view(),
        name="repository-workflows",
    ),
    path(
        "api/v1/repositories/<int:repository_id>/labels/",
        operations_api.LabelCreateApi.as_view(),
        name="repository-labels",
    ),
    # A label's name may hold a slash ("size/XS").
    path(
        "api/v1/repositories/<int:repository_id>/labels/<path:name>/",
        operations_api.LabelDetailApi.as_view(),
        name="repository-label",
    ),
    path(
        "api/v1/repositories/<int:repository_id>/cache/invalidate/",
        operations_api.RepositoryCacheInvalidateApi.as_view(),
        name="repository-cache-invalidate",
    ),
    path("api/v1/deliveries/", api.DeliveryListApi.as_view(), name="deliveries"),
    path("api/v1/sync-history/", api.SyncRunListApi.as_view(), name="sync-history"),
    path("api/v1/rate-limits/", api.RateLimitListApi.as_view(), name="rate-limits"),
    path(
        "api/v1/rate-limits/status/",
        api.RateLimitStatusApi.as_view(),
        name="rate-limit-status",
    ),
    path(
        "api/v1/rate-limits/track/",
        api.RateLimitTrackApi.as_view(),
        name="rate-limit-track",
    ),
    path(
        "api/v1/rate-limits/health/",
        api.RateLimitHealthApi.as_view(),
        name="rate-limit-health",
    ),
    path(
        "api/v1/webhooks/configs/",
        api.WebhookConfigListApi.as_view(),
        name="webhook-configs",
    ),
    path(
        "api/v1/webhooks/configs/<int:config_id>/",
        api.WebhookConfigDetailApi.as_view(),
        name="webhook-config",
    ),
    # The deliveries list under the name the webhook pages use (CONTRACT §7).
    path(
        "api/v1/webhooks/events/",
        api.DeliveryListApi.as_view(),
        name="webhook-events",
    ),
    path(
        "api/v1/webhooks/events/stats/",
        api.DeliveryStatsApi.as_view(),
        name="webhook-event-stats",
    ),
]
