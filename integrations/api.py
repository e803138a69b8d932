"""JSON API for repositories and deliveries (CONTRACT §5)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.generics import ListAPIView

from codequest.api import query_filters
from integrations import selectors
from integrations.models import (
    ConnectedRepository,
    RateLimitSample,
    SyncRun,
    WebhookDelivery,
)
from integrations.providers import provider_slugs

PROVIDERS = provider_slugs()
STATUSES = tuple(WebhookDelivery.Status.values)


def _params(*names: str) -> list[OpenApiParameter]:
    return [OpenApiParameter(name, str, required=False) for name in names]


class RepositoryListApi(ListAPIView):
    class OutputSerializer(serializers.ModelSerializer):
        connection_status = serializers.CharField(
            source="credential.status", default=None, allow_null=True
        )

        class Meta:
            model = ConnectedRepository
            fields = [
                "id",
                "provider",
                "full_name",
                "host",
                "default_branch",
                "web_url",
                "is_active",
                "webhook_status",
                "connection_status",
                "last_event_at",
                "last_synced_at",
            ]

    serializer_class = OutputSerializer

    @extend_schema(parameters=_params("provider"))
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        filters = query_filters(self.request.query_params, {"provider": PROVIDERS})
        return selectors.repository_list(user=self.request.user, filters=filters)


class DeliveryListApi(ListAPIView):
    class OutputSerializer(serializers.ModelSerializer):
        repository = serializers.CharField(source="repository_name")

        class Meta:
            model = WebhookDelivery
            fields = [
                "provider",
                "delivery_id",
                "event",
                "action",
                "repository",
                "status",
                "attempts",
                "received_at",
                "processed_at",
                "error",
            ]

    serializer_class = OutputSerializer

    @extend_schema(
        parameters=_params(
            "provider", "event", "action", "status", "delivery_id", "repository"
        )
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        filters = query_filters(
            self.request.query_params,
            {
                "provider": PROVIDERS,
                "event": None,
                "action": None,
                "status": STATUSES,
                "delivery_id": None,
                "repository": None,
            },
        )
        return selectors.delivery_list(user=self.request.user, filters=filters)


class SyncRunListApi(ListAPIView):
    class OutputSerializer(serializers.ModelSerializer):
        repository = serializers.CharField(source="repository.full_name")
        provider = serializers.CharField(source="repository.provider")

        class Meta:
            model = SyncRun
            fields = [
                "provider",
                "repository",
                "kind",
                "status",
                "trigger",
                "started_at",
                "finished_at",
                "api_calls",
                "rate_limit_points",
                "not_modified",
                "changes",
                "missed_by_webhooks",
                "error",
            ]

    serializer_class = OutputSerializer

    @extend_schema(parameters=_params("repository", "provider"))
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        filters = query_filters(
            self.request.query_params, {"repository": None, "provider": PROVIDERS}
        )
        return selectors.sync_run_list(user=self.request.user, filters=filters)


class RateLimitListApi(ListAPIView):
    """The latest rate-limit sample per token and resource (never the token)."""

    class OutputSerializer(serializers.ModelSerializer):
        class Meta:
            model = RateLimitSample
            fields = [
                "provider",
                "host",
                "token_fingerprint",
                "resource",
                "limit",
                "remaining",
                "reset_at",
                "sampled_at",
            ]

    serializer_class = OutputSerializer

    def get_queryset(self):
        return selectors.rate_limit_list(user=self.request.user)
