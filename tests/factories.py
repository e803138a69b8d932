"""factory_boy factories for the domain models."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import factory

from integrations.models import ConnectedRepository, Organization, WebhookDelivery
from reviews.models import Comment, PullRequest, Review

BASE_TIME = datetime(2024, 1, 1, tzinfo=UTC)


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Team {n}")
    slug = factory.Sequence(lambda n: f"team-{n}")


class RepositoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ConnectedRepository

    organization = factory.SubFactory(OrganizationFactory)
    provider = "github"
    host = "github.com"
    external_id = factory.Sequence(lambda n: 1000 + n)
    full_name = factory.Sequence(lambda n: f"octo/repo-{n}")
    default_branch = "main"


class PullRequestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PullRequest

    repository = factory.SubFactory(RepositoryFactory)
    number = factory.Sequence(lambda n: n + 1)
    title = factory.Sequence(lambda n: f"Change {n}")
    author_login = "octocat"
    state = "open"
    draft = False
    head_sha = factory.Sequence(lambda n: f"{n:040x}")
    base_ref = "main"
    requested_reviewers = factory.LazyFunction(lambda: ["hubot"])
    provider_created_at = BASE_TIME
    provider_updated_at = factory.Sequence(lambda n: BASE_TIME + timedelta(minutes=n))


class ReviewFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Review

    pull_request = factory.SubFactory(PullRequestFactory)
    external_id = factory.Sequence(str)
    reviewer_login = "hubot"
    state = "approved"
    submitted_at = factory.Sequence(lambda n: BASE_TIME + timedelta(minutes=n))


class CommentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Comment

    pull_request = factory.SubFactory(PullRequestFactory)
    kind = "review_comment"
    external_id = factory.Sequence(str)
    author_login = "hubot"
    body = "Looks good, one nit."
    provider_created_at = BASE_TIME
    provider_updated_at = BASE_TIME


class DeliveryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WebhookDelivery

    provider = "github"
    delivery_id = factory.Sequence(lambda n: f"delivery-{n}")
    event = "pull_request"
    action = "opened"
    repository_name = "octo/repo"
    body = b"{}"
    status = "processed"
