"""JSON API for pull/merge requests and reviews (CONTRACT §5)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.generics import ListAPIView

from codequest.api import query_filters
from integrations.providers import provider_slugs
from reviews import selectors
from reviews.models import PullRequest, PullState, Review, ReviewState

PROVIDERS = provider_slugs()


def _params(*names: str) -> list[OpenApiParameter]:
    return [OpenApiParameter(name, str, required=False) for name in names]


class PullRequestListApi(ListAPIView):
    class OutputSerializer(serializers.ModelSerializer):
        provider = serializers.CharField(source="repository.provider")
        repository = serializers.CharField(source="repository.full_name")
        author = serializers.CharField(source="author_login")
        draft = serializers.SerializerMethodField()
        created_at = serializers.DateTimeField(source="provider_created_at")
        updated_at = serializers.DateTimeField(source="provider_updated_at")
        merged_by = serializers.CharField(source="merged_by_login")

        class Meta:
            model = PullRequest
            fields = [
                "provider",
                "repository",
                "number",
                "title",
                "author",
                "state",
                "draft",
                "head_sha",
                "head_ref",
                "base_ref",
                "url",
                "created_at",
                "updated_at",
                "merged_at",
                "closed_at",
                "merged_by",
                "requested_reviewers",
                "requested_teams",
                "assignees",
                "labels",
                "closes_issues",
            ]

        def get_draft(self, pull_request: PullRequest) -> bool:
            return bool(pull_request.draft)

    serializer_class = OutputSerializer

    @extend_schema(
        parameters=_params("provider", "repository", "number", "state", "author")
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        filters = query_filters(
            self.request.query_params,
            {
                "provider": PROVIDERS,
                "repository": None,
                "number": int,
                "state": tuple(PullState.values),
                "author": None,
            },
        )
        return selectors.pull_request_list(user=self.request.user, filters=filters)


class ReviewListApi(ListAPIView):
    class OutputSerializer(serializers.ModelSerializer):
        provider = serializers.CharField(source="pull_request.repository.provider")
        repository = serializers.CharField(source="pull_request.repository.full_name")
        number = serializers.IntegerField(source="pull_request.number")
        reviewer = serializers.CharField(source="reviewer_login")
        comment_count = serializers.IntegerField()

        class Meta:
            model = Review
            fields = [
                "id",
                "provider",
                "repository",
                "number",
                "reviewer",
                "state",
                "submitted_at",
                "commit_sha",
                "comment_count",
            ]

    serializer_class = OutputSerializer

    @extend_schema(
        parameters=_params("provider", "repository", "number", "reviewer", "state")
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        filters = query_filters(
            self.request.query_params,
            {
                "provider": PROVIDERS,
                "repository": None,
                "number": int,
                "reviewer": None,
                "state": tuple(ReviewState.values),
            },
        )
        return selectors.review_list(user=self.request.user, filters=filters)
