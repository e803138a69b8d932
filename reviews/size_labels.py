"""Size labels: ``size/XS`` … ``size/XL`` on open pull requests, by changed lines.

Set when a pull request is opened, reopened or gets new commits, in
repositories whose review settings turn it on. The labels are created on the
repository when missing and kept in one colour scheme (green to red); a pull
request carries exactly one of them, the others are taken off. Running it
again for the same state changes nothing, so retries and duplicate deliveries
are harmless.
"""

from __future__ import annotations

import logging

from django.core.cache import cache

from integrations.credentials import repository_client_guarded
from integrations.providers.base import ProviderNotFoundError, RepoClient
from reviews.models import PullRequest, PullState, RepositoryReviewSettings

logger = logging.getLogger(__name__)

SIZES = ("XS", "S", "M", "L", "XL")
PREFIX = "size/"
# One scheme, green (small) to red (large), as GitHub writes colours.
COLOURS = {
    "XS": "3cbf00",
    "S": "5d9801",
    "M": "7f7203",
    "L": "a14c05",
    "XL": "c32607",
}
DESCRIPTIONS = {
    "XS": "Changes fewer than {0} lines",
    "S": "Changes {0} to {1} lines",
    "M": "Changes {1} to {2} lines",
    "L": "Changes {2} to {3} lines",
    "XL": "Changes {3} lines or more",
}
ENSURED_SECONDS = 24 * 3600  # a label made or recoloured is not checked again for a day


def size_of(lines: int, thresholds: list[int]) -> str:
    """The size for ``lines`` changed lines: below the first threshold XS,
    from the last one on XL."""
    for size, starts in zip(SIZES[1:], thresholds, strict=True):
        if lines < starts:
            return SIZES[SIZES.index(size) - 1]
    return SIZES[-1]


def pull_size_label(*, pull_request_id: int) -> str:
    """Label one pull request with its size; returns the label ("" when the
    repository does not label, or the pull request is not open)."""
    pull = (
        PullRequest.objects.select_related("repository", "repository__credential")
        .filter(pk=pull_request_id)
        .first()
    )
    if pull is None or pull.state != PullState.OPEN:
        return ""
    settings_ = RepositoryReviewSettings.objects.filter(
        repository=pull.repository
    ).first()
    if settings_ is None or not settings_.size_labels:
        return ""
    repository = pull.repository
    thresholds = list(settings_.size_thresholds)
    with repository_client_guarded(repository) as client:
        if pull.additions is None or pull.deletions is None:
            added, deleted = client.pull_line_counts(repository.full_name, pull.number)
        else:
            added, deleted = pull.additions, pull.deletions
        label = PREFIX + size_of(added + deleted, thresholds)
        stale = [
            name
            for name in pull.labels or ()
            if name.lower().startswith(PREFIX) and name != label
        ]
        if label in (pull.labels or ()) and not stale:
            return label
        _label_ensure(client, repository, label, thresholds)
        labels = client.pull_labels_change(
            repository.full_name,
            pull.number,
            add=[] if label in (pull.labels or ()) else [label],
            remove=stale,
        )
    logger.info(
        "reviews.size_label.set",
        extra={"pull": pull.pk, "label": label, "removed": ",".join(stale)},
    )
    if labels:
        # The provider's answer; its webhook will say the same a moment later.
        PullRequest.objects.filter(pk=pull.pk).update(labels=list(labels))
    return label


def _label_ensure(
    client: RepoClient, repository, label: str, thresholds: list[int]
) -> None:
    """The label exists on the repository in our colour (recoloured when
    someone changed it; created when missing), checked once a day."""
    key = f"size-label:{repository.pk}:{label}:{','.join(map(str, thresholds))}"
    if cache.get(key):
        return
    size = label.removeprefix(PREFIX)
    colour = COLOURS[size]
    description = DESCRIPTIONS[size].format(*thresholds)
    try:
        client.label_update(
            repository.full_name, label, color=colour, description=description
        )
    except ProviderNotFoundError:
        client.label_create(
            repository.full_name, name=label, color=colour, description=description
        )
    cache.set(key, True, ENSURED_SECONDS)
