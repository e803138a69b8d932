"""Pushes whose payload does not say whether they rewrote the branch (GitLab's
push hook has no ``forced``): the provider is asked whether the old head is
still an ancestor of the new one, and a rewrite is recorded like GitHub's
``forced`` push (reviews.services.force_push_record)."""

from __future__ import annotations

import logging
from datetime import datetime

from integrations.credentials import repository_client_guarded
from integrations.models import ConnectedRepository
from integrations.providers.base import PushSnapshot
from reviews.services import force_push_record

logger = logging.getLogger(__name__)


def push_rewrite_check(
    *, repository_id: int, ref: str, before: str, after: str, pushed_at: str
) -> bool:
    """True when the push rewrote the branch (and is now recorded)."""
    repository = (
        ConnectedRepository.objects.select_related("credential")
        .filter(pk=repository_id, is_active=True)
        .first()
    )
    if repository is None:
        return False
    with repository_client_guarded(repository) as client:
        kept = client.is_ancestor(repository.full_name, before, after)
    if kept:
        return False
    push = PushSnapshot(ref=ref, before=before, after=after, is_forced=True)
    force_push_record(
        repository=repository, push=push, pushed_at=datetime.fromisoformat(pushed_at)
    )
    logger.info(
        "integrations.push.rewrite_found",
        extra={"repository": repository.pk, "ref": ref[:100]},
    )
    return True
