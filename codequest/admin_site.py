"""The admin as part of the product: its name, and the product's models first,
with the framework's own (sign-in, API tokens, schedules) grouped after them."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig

PRODUCT_APPS = ("integrations", "reviews", "rewards")


class CodeQuestAdminSite(admin.AdminSite):
    site_header = "CodeQuest Rewards administration"
    site_title = "CodeQuest admin"
    index_title = "Teams, repositories, reviews and points"
    site_url = "/dashboard/"

    def get_app_list(
        self, request: Any, app_label: str | None = None
    ) -> list[dict[str, Any]]:
        apps = super().get_app_list(request, app_label)
        product = sorted(
            (app for app in apps if app["app_label"] in PRODUCT_APPS),
            key=lambda app: PRODUCT_APPS.index(app["app_label"]),
        )
        framework = [app for app in apps if app["app_label"] not in PRODUCT_APPS]
        for app in framework:
            app["name"] = f"Framework · {app['name']}"
        return product + framework


class CodeQuestAdminConfig(AdminConfig):
    default_site = "codequest.admin_site.CodeQuestAdminSite"
