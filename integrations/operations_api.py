"""Provider operations of one team repository (CONTRACT §7): its description,
settings and open pull requests on the provider now, cached, and the cache
dropped on demand. Another team's repository is a 404; changing settings is
for the team's admins (403 for other members)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from codequest.api import body_validated
from integrations import selectors
from integrations.api import MAX_ID
from integrations.models import ConnectedRepository
from integrations.providers import get_provider
from integrations.providers.base import (
    MERGE_METHODS,
    ProviderError,
    ProviderNotFoundError,
    ProviderUnsupportedError,
    RepositorySettings,
)
from integrations.providers.hosts import safe_link
from integrations.services import operations

logger = logging.getLogger(__name__)

USE_CACHE = OpenApiParameter(
    "use_cache", bool, required=False, description="false reads the provider now"
)


class _InfoSerializer(serializers.Serializer):
    full_name = serializers.CharField()
    description = serializers.CharField()
    default_branch = serializers.CharField()
    visibility = serializers.CharField()
    web_url = serializers.CharField()
    open_issues = serializers.IntegerField(allow_null=True)
    stars = serializers.IntegerField(allow_null=True)
    forks = serializers.IntegerField(allow_null=True)
    archived = serializers.BooleanField()
    merge_methods = serializers.ListField(child=serializers.CharField())
    delete_branch_on_merge = serializers.BooleanField(allow_null=True)
    pushed_at = serializers.DateTimeField(allow_null=True)


class _PullSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    title = serializers.CharField()
    author = serializers.CharField(source="author.login", allow_null=True, default=None)
    draft = serializers.BooleanField(allow_null=True)
    head_sha = serializers.CharField(allow_null=True)
    requested_reviewers = serializers.ListField(
        child=serializers.CharField(), allow_null=True
    )
    created_at = serializers.DateTimeField(allow_null=True)
    updated_at = serializers.DateTimeField(allow_null=True)


class _IssueSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    title = serializers.CharField()
    author = serializers.CharField()
    labels = serializers.ListField(child=serializers.CharField())
    comments = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField(allow_null=True)
    updated_at = serializers.DateTimeField(allow_null=True)
    web_url = serializers.CharField()


class _WorkflowSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=["workflow", "pipeline"])
    name = serializers.CharField()
    state = serializers.CharField()
    ref = serializers.CharField()
    web_url = serializers.CharField()
    updated_at = serializers.DateTimeField(allow_null=True)


class RepositoryInfoApi(APIView):
    """GET …/info/: the repository as the provider describes it (5 minutes)."""

    @extend_schema(parameters=[USE_CACHE], responses=_InfoSerializer)
    def get(self, request: Request, repository_id: int) -> Response:
        return _cached(request, repository_id, operations.repository_info_get, _info)


class RepositoryPullsLiveApi(APIView):
    """GET …/pulls/live/: its open pull requests on the provider now (1 minute)."""

    @extend_schema(parameters=[USE_CACHE], responses=_PullSerializer(many=True))
    def get(self, request: Request, repository_id: int) -> Response:
        return _cached(
            request,
            repository_id,
            operations.repository_pulls_live,
            lambda _, pulls: _PullSerializer(pulls, many=True).data,
        )


class RepositoryIssuesApi(APIView):
    """GET …/issues/: its open issues on the provider now (1 minute)."""

    @extend_schema(parameters=[USE_CACHE], responses=_IssueSerializer(many=True))
    def get(self, request: Request, repository_id: int) -> Response:
        return _cached(
            request,
            repository_id,
            operations.repository_issues_live,
            lambda repository, issues: _linked(repository, _IssueSerializer, issues),
        )


class RepositoryWorkflowsApi(APIView):
    """GET …/workflows/: GitHub Actions workflows, or GitLab's latest pipelines
    (5 minutes)."""

    @extend_schema(parameters=[USE_CACHE], responses=_WorkflowSerializer(many=True))
    def get(self, request: Request, repository_id: int) -> Response:
        return _cached(
            request,
            repository_id,
            operations.repository_workflows,
            lambda repository, runs: _linked(repository, _WorkflowSerializer, runs),
        )


class RepositorySettingsApi(APIView):
    """PATCH …/settings/: description, default branch, merge methods, delete the
    branch on merge; team admins only. Answers the provider's new description."""

    class InputSerializer(serializers.Serializer):
        description = serializers.CharField(
            max_length=350, allow_blank=True, required=False
        )
        default_branch = serializers.RegexField(
            r"^[^\s~^:?*\[\\]{1,255}$", required=False
        )
        merge_methods = serializers.ListField(
            child=serializers.ChoiceField(choices=MERGE_METHODS),
            min_length=1,
            max_length=3,
            required=False,
        )
        delete_branch_on_merge = serializers.BooleanField(required=False)

    @extend_schema(request=InputSerializer, responses=_InfoSerializer)
    def patch(self, request: Request, repository_id: int) -> Response:
        repository = _manageable(request, repository_id)
        data = body_validated(self.InputSerializer, request.data)
        if not data:
            return Response({"error": "nothing to change"}, status=400)
        if "merge_methods" in data:
            data["merge_methods"] = tuple(
                name for name in MERGE_METHODS if name in data["merge_methods"]
            )
        try:
            info = operations.repository_settings_change(
                repository=repository, changes=RepositorySettings(**data)
            )
        except ProviderUnsupportedError as exc:
            return Response({"error": str(exc)}, status=400)
        except ProviderError as exc:
            return _failure(repository, exc)
        return Response(_info(repository, info))


COLOR = r"^#?[0-9a-fA-F]{6}$"


class _LabelSerializer(serializers.Serializer):
    name = serializers.CharField()
    color = serializers.CharField()
    description = serializers.CharField()


class LabelCreateApi(APIView):
    """POST …/labels/: a new label on the provider; team admins only."""

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=50)
        color = serializers.RegexField(COLOR)
        description = serializers.CharField(
            max_length=100, allow_blank=True, required=False, default=""
        )

    @extend_schema(request=InputSerializer, responses={201: _LabelSerializer})
    def post(self, request: Request, repository_id: int) -> Response:
        repository = _manageable(request, repository_id)
        data = body_validated(self.InputSerializer, request.data)
        try:
            label = operations.label_create(
                repository=repository,
                name=data["name"],
                color=data["color"].lstrip("#").lower(),
                description=data["description"],
            )
        except ProviderError as exc:
            return _failure(repository, exc)
        return Response(_LabelSerializer(label).data, status=201)


class LabelDetailApi(APIView):
    """PATCH/DELETE …/labels/{name}/: change or remove a label on the provider;
    team admins only. A label the provider does not have is a 404."""

    class InputSerializer(serializers.Serializer):
        new_name = serializers.CharField(max_length=50, required=False)
        color = serializers.RegexField(COLOR, required=False)
        description = serializers.CharField(
            max_length=100, allow_blank=True, required=False
        )

    @extend_schema(request=InputSerializer, responses=_LabelSerializer)
    def patch(self, request: Request, repository_id: int, name: str) -> Response:
        repository = _manageable(request, repository_id)
        changes = body_validated(self.InputSerializer, request.data)
        if not changes:
            return Response({"error": "nothing to change"}, status=400)
        if "color" in changes:
            changes["color"] = changes["color"].lstrip("#").lower()
        try:
            label = operations.label_update(
                repository=repository, name=name, changes=dict(changes)
            )
        except ProviderNotFoundError:
            raise NotFound(f"no label {name!r} on the repository") from None
        except ProviderError as exc:
            return _failure(repository, exc)
        return Response(_LabelSerializer(label).data)

    @extend_schema(request=None, responses={204: None})
    def delete(self, request: Request, repository_id: int, name: str) -> Response:
        repository = _manageable(request, repository_id)
        try:
            operations.label_delete(repository=repository, name=name)
        except ProviderNotFoundError:
            raise NotFound(f"no label {name!r} on the repository") from None
        except ProviderError as exc:
            return _failure(repository, exc)
        return Response(status=204)


class RepositoryCacheInvalidateApi(APIView):
    """POST …/cache/invalidate/: forget the cached answers about it."""

    @extend_schema(request=None, responses={200: dict})
    def post(self, request: Request, repository_id: int) -> Response:
        repository = _repository(request, repository_id)
        return Response(
            {
                "invalidated": operations.repository_cache_invalidate(
                    repository=repository
                )
            }
        )


def _repository(request: Request, repository_id: int) -> ConnectedRepository:
    repository = (
        selectors.repositories_visible_to(request.user)
        .select_related("credential")
        .filter(pk=repository_id)
        .first()
        if repository_id <= MAX_ID
        else None
    )
    if repository is None:
        raise NotFound("no such repository in your teams")
    return repository


def _manageable(request: Request, repository_id: int) -> ConnectedRepository:
    """The team's repository (404 otherwise), for one of its admins (403)."""
    repository = _repository(request, repository_id)
    if not selectors.repository_manageable(request.user, repository):
        raise PermissionDenied("only the team's admins change this repository")
    return repository


def _use_cache(request: Request) -> bool:
    return request.query_params.get("use_cache", "true").lower() not in (
        "false",
        "0",
        "no",
    )


def _info(repository: ConnectedRepository, info) -> dict:
    data = dict(_InfoSerializer(info).data)
    data["web_url"] = safe_link(
        info.web_url, repository.provider
    )  # a link only if ours
    return data


def _linked(repository: ConnectedRepository, serializer, items) -> list[dict]:
    """Serialized items whose ``web_url`` is a link only on the provider's host."""
    rows = [dict(row) for row in serializer(items, many=True).data]
    for row in rows:
        row["web_url"] = safe_link(row["web_url"], repository.provider)
    return rows


def _cached(
    request: Request,
    repository_id: int,
    read: Callable[..., operations.Answer],
    present: Callable[[ConnectedRepository, Any], Any],
) -> Response:
    """A read through the cache: ``{"cached", "fetched_at", "data"}``, or 502."""
    repository = _repository(request, repository_id)
    try:
        answer = read(repository=repository, use_cache=_use_cache(request))
    except ProviderError as exc:
        return _failure(repository, exc)
    return Response(
        {
            "cached": answer.cached,
            "fetched_at": answer.fetched_at,
            "data": present(repository, answer.value),
        }
    )


def _failure(repository: ConnectedRepository, exc: ProviderError) -> Response:
    logger.warning(
        "integrations.operations.provider_failed",
        extra={"repository": repository.pk, "error": str(exc)[:300]},
    )
    name = get_provider(repository.provider).name
    return Response({"error": f"{name} did not answer as expected: {exc}"}, status=502)
