from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from codequest import views
from integrations.app_views import GitHubInstallationListApi, github_install_callback
from integrations.dashboard import dashboard, repository_connect_view

urlpatterns = [
    # Webhooks first: the hottest URLs resolve without walking the others.
    path("", include("integrations.urls")),
    path("", views.home, name="home"),
    path("health/", views.health, name="health"),
    path("dashboard/", dashboard, name="dashboard"),
    path(
        "dashboard/repositories/connect",
        repository_connect_view,
        name="repository-connect",
    ),
    path("accounts/", include("allauth.urls")),
    path("auth/github/install", github_install_callback, name="github-install"),
    path(
        "auth/github/installations",
        GitHubInstallationListApi.as_view(),
        name="github-installations",
    ),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("", include("reviews.urls")),
    path("", include("rewards.urls")),
    path("", include("django_prometheus.urls")),
]
