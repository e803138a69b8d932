from django.urls import path

from notifications import api, views

urlpatterns = [
    path(
        "api/v1/notifications/",
        api.NotificationListApi.as_view(),
        name="notifications",
    ),
    path(
        "dashboard/notifications/",
        views.notifications_view,
        name="dashboard-notifications",
    ),
    path(
        "dashboard/teams/<slug:slug>/channels/",
        views.team_channels_view,
        name="dashboard-team-channels",
    ),
    path(
        "dashboard/teams/<slug:slug>/channels/<int:pk>/kinds/",
        views.team_channel_kinds_view,
        name="dashboard-team-channel-kinds",
    ),
    path(
        "dashboard/teams/<slug:slug>/channels/<int:pk>/remove/",
        views.team_channel_remove_view,
        name="dashboard-team-channel-remove",
    ),
    path(
        "dashboard/notifications/read/",
        views.notifications_read_view,
        name="dashboard-notifications-read",
    ),
]
