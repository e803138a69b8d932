"""JSON API for repositories, deliveries and webhook configurations (CONTRACT
§5 and §7)."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from codequest.api import MAX_ID, body_validated, query_filters
from integrations import selectors
from integrations.models import (
    ConnectedRepository,
    RateLimitSample,
    SyncRun,
    WebhookDelivery,
    WebhookEndpoint,
)
from integrations.providers import get_provider, provider_slugs
from integrations.providers.base import ProviderError
from integrations.services import rate_limits, webhooks

logger = logging.getLogger(__name__)

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

    @extend_schema(parameters=_params("repository", "provider", "kind"))
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        filters = query_filters(
            self.request.query_params,
            {
                "repository": None,
                "provider": PROVIDERS,
                "kind": tuple(SyncRun.Kind.values),
            },
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


class WebhookConfigListApi(ListAPIView):
    """Our hooks on the team's repositories; a team admin registers a new one."""

    class InputSerializer(serializers.Serializer):
        repository = serializers.IntegerField(
            min_value=1,
            max_value=MAX_ID,
            help_text="The repository's id (see /api/v1/repositories/).",
        )
        events = serializers.ListField(
            child=serializers.CharField(max_length=100),
            required=False,
            default=list,
            max_length=50,
            help_text="The provider's event names; empty or absent: all we act on.",
        )
        active = serializers.BooleanField(required=False, default=True)

    class OutputSerializer(serializers.ModelSerializer):
        repository = serializers.CharField(source="repository.full_name")
        repository_id = serializers.IntegerField()
        url = serializers.SerializerMethodField()
        events = serializers.SerializerMethodField()
        active = serializers.BooleanField(source="is_enabled")
        last_delivery_at = serializers.DateTimeField(allow_null=True, default=None)

        class Meta:
            model = WebhookEndpoint
            fields = [
                "id",
                "repository",
                "repository_id",
                "provider",
                "provider_hook_id",
                "url",
                "events",
                "active",
                "verified_at",
                "last_delivery_at",
                "created_at",
                "updated_at",
            ]

        def get_url(self, endpoint: WebhookEndpoint) -> str:
            return webhooks.webhook_url(endpoint)

        def get_events(self, endpoint: WebhookEndpoint) -> list[str]:
            return endpoint.events or list(get_provider(endpoint.provider).hook_events)

    serializer_class = OutputSerializer

    @extend_schema(parameters=_params("provider", "repository"))
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        filters = query_filters(
            self.request.query_params, {"provider": PROVIDERS, "repository": None}
        )
        return selectors.webhook_config_list(user=self.request.user, filters=filters)

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer})
    def post(self, request: Request) -> Response:
        data = body_validated(self.InputSerializer, request.data)
        repository = (
            selectors.repositories_visible_to(request.user)
            .select_related("credential")
            .filter(pk=data["repository"])
            .first()
        )
        if repository is None:
            return _error(f"no repository {data['repository']}", 404)
        if not selectors.repository_manageable(request.user, repository):
            return _error("only the team's admins can register webhooks", 403)
        try:
            endpoint = webhooks.webhook_config_create(
                repository=repository, events=data["events"], active=data["active"]
            )
        except ValueError as exc:
            return Response({"events": [str(exc)]}, status=400)
        except webhooks.WebhookConflict as exc:
            return _error(str(exc), 409)
        except ProviderError as exc:
            return _provider_failure(repository.provider, exc)
        return Response(_config_output(request, endpoint.pk), status=201)


class WebhookConfigDetailApi(APIView):
    """One hook: read it; a team admin changes its events, pauses or removes it."""

    class InputSerializer(serializers.Serializer):
        events = serializers.ListField(
            child=serializers.CharField(max_length=100), required=False, max_length=50
        )
        active = serializers.BooleanField(required=False)

    @extend_schema(responses=WebhookConfigListApi.OutputSerializer)
    def get(self, request: Request, config_id: int) -> Response:
        return Response(_config_output(request, config_id))

    @extend_schema(
        request=InputSerializer, responses=WebhookConfigListApi.OutputSerializer
    )
    def patch(self, request: Request, config_id: int) -> Response:
        endpoint = _config_to_change(request, config_id)
        data = body_validated(self.InputSerializer, request.data)
        try:
            webhooks.webhook_config_update(
                endpoint=endpoint, events=data.get("events"), active=data.get("active")
            )
        except ValueError as exc:
            return Response({"events": [str(exc)]}, status=400)
        except webhooks.WebhookConflict as exc:
            return _error(str(exc), 409)
        except ProviderError as exc:
            return _provider_failure(endpoint.provider, exc)
        return Response(_config_output(request, config_id))

    @extend_schema(responses={204: None})
    def delete(self, request: Request, config_id: int) -> Response:
        endpoint = _config_to_change(request, config_id)
        try:
            webhooks.webhook_config_delete(endpoint=endpoint)
        except webhooks.WebhookConflict as exc:
            return _error(str(exc), 409)
        except ProviderError as exc:
            return _provider_failure(endpoint.provider, exc)
        return Response(status=204)


class DeliveryStatsApi(APIView):
    """Deliveries of the last hours per event type, by outcome."""

    class OutputSerializer(serializers.Serializer):
        provider = serializers.CharField()
        event = serializers.CharField()
        received = serializers.IntegerField()
        pending = serializers.IntegerField()
        processed = serializers.IntegerField()
        ignored = serializers.IntegerField()
        failed = serializers.IntegerField()

    @extend_schema(
        parameters=[
            OpenApiParameter("hours", int, description="1 to 720; default 24"),
            *_params("provider"),
        ],
        responses=OutputSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        filters = query_filters(
            request.query_params, {"hours": int, "provider": PROVIDERS}
        )
        hours = filters.pop("hours", 24)
        if not 1 <= hours <= MAX_STATS_HOURS:
            return _error(f"hours must be between 1 and {MAX_STATS_HOURS}", 400)
        since = timezone.now() - timedelta(hours=hours)
        rows = selectors.delivery_stats(user=request.user, since=since, filters=filters)
        return Response(
            {
                "hours": hours,
                "since": since.isoformat(),
                "results": self.OutputSerializer(rows, many=True).data,
            }
        )


MAX_STATS_HOURS = 720  # 30 days


def _error(message: str, status: int) -> Response:
    return Response({"error": message}, status=status)


def _provider_failure(provider: str, exc: ProviderError) -> Response:
    """The provider refused or failed: 502 with its answer (never a token)."""
    logger.warning(
        "integrations.webhook_config.provider_failed",
        extra={"provider": provider, "error": str(exc)},
    )
    name = get_provider(provider).name
    return _error(f"{name} did not make the change: {exc}", 502)


def _config(request: Request, config_id: int) -> WebhookEndpoint:
    endpoint = (
        selectors.webhook_config_list(user=request.user, filters={})
        .filter(pk=config_id)
        .first()
        if config_id <= MAX_ID
        else None
    )
    if endpoint is None:
        raise NotFound({"error": f"no webhook configuration {config_id}"})
    return endpoint


def _config_to_change(request: Request, config_id: int) -> WebhookEndpoint:
    endpoint = _config(request, config_id)
    if endpoint.repository is None or not selectors.repository_manageable(
        request.user, endpoint.repository
    ):
        raise PermissionDenied({"error": "only the team's admins can change webhooks"})
    return endpoint


def _config_output(request: Request, config_id: int) -> dict[str, Any]:
    endpoint = _config(request, config_id)
    return WebhookConfigListApi.OutputSerializer(endpoint).data


class _BudgetSerializer(serializers.Serializer):
    provider = serializers.CharField()
    host = serializers.CharField()
    token_fingerprint = serializers.CharField()
    resource = serializers.CharField()
    limit = serializers.IntegerField(allow_null=True)
    remaining = serializers.IntegerField(allow_null=True)
    used = serializers.IntegerField(allow_null=True)
    percent_used = serializers.FloatField(allow_null=True)
    reset_at = serializers.DateTimeField(allow_null=True)
    error = serializers.CharField()


class RateLimitStatusApi(APIView):
    """GET /api/v1/rate-limits/status/: each budget the team's repositories
    spend (core, search, graphql on GitHub), read from the provider now."""

    @extend_schema(responses=_BudgetSerializer(many=True))
    def get(self, request: Request) -> Response:
        statuses = rate_limits.rate_limits_live(user=request.user)
        return Response({"results": _BudgetSerializer(statuses, many=True).data})


class RateLimitTrackApi(APIView):
    """POST /api/v1/rate-limits/track/: read every budget now and keep the
    samples (the history ``/rate-limits/`` and the sync reserve use)."""

    @extend_schema(request=None, responses={201: _BudgetSerializer(many=True)})
    def post(self, request: Request) -> Response:
        statuses = rate_limits.rate_limits_live(user=request.user, track=True)
        return Response(
            {"results": _BudgetSerializer(statuses, many=True).data}, status=201
        )


class RateLimitHealthApi(APIView):
    """GET /api/v1/rate-limits/health/: healthy, low, exhausted or unknown, and
    why, from the latest samples (no provider call)."""

    class OutputSerializer(serializers.Serializer):
        status = serializers.ChoiceField(
            choices=["healthy", "low", "exhausted", "unknown"]
        )
        reasons = serializers.ListField(child=serializers.CharField())
        sampled_at = serializers.DateTimeField(required=False)

    @extend_schema(responses=OutputSerializer)
    def get(self, request: Request) -> Response:
        verdict = rate_limits.rate_limit_health(user=request.user)
        return Response(self.OutputSerializer(verdict).data)
