"""Read-side queries for pull requests and reviews, team-scoped."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce

from integrations.selectors import repositories_visible_to
from reviews.models import Comment, ProviderIdentity, PullRequest, Review


def _scoped(queryset: QuerySet, user: Any, prefix: str) -> QuerySet:
    if user.is_superuser:
        return queryset
    return queryset.filter(**{f"{prefix}__in": repositories_visible_to(user)})


def pull_request_list(*, user: Any, filters: dict[str, Any]) -> QuerySet[PullRequest]:
    queryset = _scoped(
        PullRequest.objects.select_related("repository"), user, "repository"
    )
    lookups = {
        "provider": "repository__provider",
        "repository": "repository__full_name",
        "number": "number",
        "state": "state",
        "author": "author_login",
    }
    for name, lookup in lookups.items():
        if name in filters:
            queryset = queryset.filter(**{lookup: filters[name]})
    return queryset.order_by("-provider_updated_at", "-id")


def review_list(*, user: Any, filters: dict[str, Any]) -> QuerySet[Review]:
    comments = (
        Comment.objects.filter(
            pull_request=OuterRef("pull_request"),
            review_external_id=OuterRef("external_id"),
            is_deleted=False,
        )
        .order_by()
        .values("pull_request")
        .annotate(total=Count("id"))
        .values("total")
    )
    queryset = _scoped(
        Review.objects.select_related("pull_request__repository"),
        user,
        "pull_request__repository",
    ).annotate(
        comment_count=Coalesce(Subquery(comments, output_field=IntegerField()), 0)
    )
    lookups = {
        "provider": "pull_request__repository__provider",
        "repository": "pull_request__repository__full_name",
        "number": "pull_request__number",
        "reviewer": "reviewer_login",
        "state": "state",
    }
    for name, lookup in lookups.items():
        if name in filters:
            queryset = queryset.filter(**{lookup: filters[name]})
    return queryset.order_by("-submitted_at", "-id")


def member_label(identity: ProviderIdentity) -> str:
    """The person behind a login: their username once linked, else provider:login."""
    member = identity.member
    if member is not None and member.user is not None:
        return member.user.get_username()
    if member is not None:
        return member.display_name
    return f"{identity.provider}:{identity.login}"
