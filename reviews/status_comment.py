"""One status comment per pull request, where the repository asks for it
(README "Status comment"): who was asked, why, by when, and where each stands;
edited in place as that changes, never a new comment per change.

The text is a function of the stored state, so whichever road changed it
(webhook, reconciliation, replay), the comment converges, and a state that did
not change writes nothing (the digest of the text last written is kept). Beat
runs ``status_comments_follow`` every minute.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections import defaultdict
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from integrations.credentials import repository_client_guarded
from integrations.providers.base import ProviderError, ProviderTemporaryError
from reviews.assignment.explanations import reasons_for
from reviews.business_time import business_deadline, working_day_of
from reviews.models import (
    PullRequest,
    PullState,
    RepositoryReviewSettings,
    Review,
    ReviewAssignment,
    ReviewerProfile,
    ReviewRequest,
    ReviewState,
    StatusComment,
)

logger = logging.getLogger(__name__)

DEFAULT_SLA_HOURS = RepositoryReviewSettings._meta.get_field("sla_hours").get_default()
AT_MOST = 500  # pull requests looked at per run
CLOSED_WITHIN = timedelta(days=7)  # a closed one gets its last update within
SAID = {
    ReviewState.APPROVED: "approved",
    ReviewState.CHANGES_REQUESTED: "asked for changes",
    ReviewState.COMMENTED: "commented",
}


def status_comments_follow(*, now: datetime | None = None) -> dict[str, int]:
    """Bring every status comment in line with its pull request's state;
    returns counts ("written", "unchanged", "failed")."""
    now = now or timezone.now()
    pulls = _pulls(now)
    if not pulls:
        return {}
    texts = status_texts(pulls, now)
    kept = {
        row.pull_request_id: row
        for row in StatusComment.objects.filter(pull_request__in=pulls)
    }
    outcomes: dict[str, int] = defaultdict(int)
    failing: set[int] = set()  # repositories whose provider is down this run
    for pull in pulls:
        text = texts.get(pull.pk)
        row = kept.get(pull.pk)
        if text is None or (row is not None and row.digest == _digest(text)):
            outcomes["unchanged"] += 1
            continue
        if pull.repository_id in failing:
            continue
        outcome = _write(pull, text, now)
        if outcome == "unavailable":
            failing.add(pull.repository_id)
            outcome = "failed"
        outcomes[outcome] += 1
    return dict(outcomes)


def _pulls(now: datetime) -> list[PullRequest]:
    """Open pull requests of the repositories that ask for a status comment,
    and the ones closed lately that have one (their last word)."""
    repositories = RepositoryReviewSettings.objects.filter(
        status_comment=True,
        repository__is_active=True,
        repository__is_practice=False,
    ).values("repository_id")
    return list(
        PullRequest.objects.filter(repository_id__in=repositories)
        .filter(
            Q(state=PullState.OPEN)
            | Q(status_comment__isnull=False, updated_at__gte=now - CLOSED_WITHIN)
        )
        .select_related("repository")
        .order_by("-updated_at", "-pk")[:AT_MOST]
    )


def status_texts(pulls: list[PullRequest], now: datetime) -> dict[int, str]:
    """The comment each pull request should carry; none for an open one that
    nobody was asked to review. A fixed number of queries."""
    requests: dict[int, list[ReviewRequest]] = defaultdict(list)
    for request in ReviewRequest.objects.filter(pull_request__in=pulls).order_by(
        "requested_at", "pk"
    ):
        requests[request.pull_request_id].append(request)
    verdicts: dict[tuple[int, str], str] = {}
    for pull_id, login, state in (
        Review.objects.filter(pull_request__in=pulls)
        .order_by("submitted_at", "pk")
        .values_list("pull_request_id", "reviewer_login", "state")
    ):
        if state != ReviewState.COMMENTED or (pull_id, login.lower()) not in verdicts:
            verdicts[(pull_id, login.lower())] = state
    explanations: dict[int, object] = {}
    for pull_id, explanation in (
        ReviewAssignment.objects.filter(pull_request__in=pulls, is_automatic=True)
        .order_by("created_at", "pk")
        .values_list("pull_request_id", "explanation")
    ):
        explanations[pull_id] = explanation  # the latest choice
    sla = dict(
        RepositoryReviewSettings.objects.filter(
            repository_id__in={pull.repository_id for pull in pulls}
        ).values_list("repository_id", "sla_hours")
    )
    profiles = _profiles(pulls, requests)
    texts = {}
    for pull in pulls:
        asked = requests.get(pull.pk, [])
        if not asked and not pull.requested_teams and pull.state == PullState.OPEN:
            continue
        rows = []
        for request in asked:
            login = request.reviewer_login
            site = (pull.repository.provider, pull.repository.host, login.lower())
            profile = profiles.get(site)
            due = business_deadline(
                request.requested_at,
                sla.get(pull.repository_id, DEFAULT_SLA_HOURS),
                **working_day_of(profile),
            )
            said = verdicts.get((pull.pk, login.lower()))
            if request.is_active and request.responded_at is None:  # asked (again)
                if request.snoozed_until and request.snoozed_until > now:
                    now_word = "snoozed"
                else:
                    now_word = "overdue" if due < now else "waiting"
            elif said is not None:
                now_word = SAID.get(said, said)
            else:
                now_word = "no longer asked"
            why = explanations.get(pull.pk)
            reasons = (
                "; ".join(reasons_for(why, login))
                if why is not None and _chose(why, login)
                else "requested on the pull request"
            )
            rows.append(
                f"| `{_login(login)}` | {_cell(reasons)} | "
                f"{due:%a %d %b, %H:%M} {due.tzname()} | {now_word} |"
            )
        texts[pull.pk] = _text(pull, rows)
    return texts


def _chose(explanation: object, login: str) -> bool:
    chosen = explanation.get("chosen") if isinstance(explanation, dict) else None
    return isinstance(chosen, list) and login in chosen


def _profiles(
    pulls: list[PullRequest], requests: dict[int, list[ReviewRequest]]
) -> dict[tuple[str, str, str], ReviewerProfile]:
    wanted = Q()
    for pull in pulls:
        for request in requests.get(pull.pk, []):
            wanted |= Q(
                identity__provider=pull.repository.provider,
                identity__host=pull.repository.host,
                identity__login__iexact=request.reviewer_login,
            )
    if not wanted:
        return {}
    return {
        (
            profile.identity.provider,
            profile.identity.host,
            profile.identity.login.lower(),
        ): profile
        for profile in ReviewerProfile.objects.filter(wanted).select_related("identity")
    }


def _text(pull: PullRequest, rows: list[str]) -> str:
    lines = ["### Review status (CodeQuest)", ""]
    if pull.state == PullState.MERGED:
        lines += ["Merged.", ""]
    elif pull.state == PullState.CLOSED:
        lines += ["Closed.", ""]
    if rows:
        lines += ["| Reviewer | Why | Due | Now |", "| --- | --- | --- | --- |", *rows]
    teams = [_login(team) for team in pull.requested_teams or ()]
    if teams and pull.state == PullState.OPEN:
        lines += [
            "",
            f"Asked of team {', '.join(teams)}: whoever answers first takes it "
            "(`/codequest claim`).",
        ]
    lines += [
        "",
        "<sub>Kept up to date by CodeQuest and edited in place. "
        "`/codequest why` explains a choice; `/codequest reroll` asks someone "
        "else.</sub>",
    ]
    return "\n".join(lines)


_UNSAFE_LOGIN = re.compile(r"[^A-Za-z0-9_.\-\[\]/]")


def _login(login: str) -> str:
    """A login or team slug as the provider allows them; anything else is
    dropped, so a payload cannot write Markdown into our comment."""
    return _UNSAFE_LOGIN.sub("", login)[:100]


def _cell(text: str) -> str:
    """A table cell of our own words with a path or two of the repository's
    in them: no column breaks, no HTML, no code spans, and no @mentions (an
    edit would notify the team a code-owner rule names)."""
    return re.sub(r"[|<>`\r\n]", " ", text).replace("@", "")[:300]


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _write(pull: PullRequest, text: str, now: datetime) -> str:
    """Write one comment: the pull request's row locked meanwhile (another
    worker skips it), so two runs never make two comments."""
    StatusComment.objects.get_or_create(pull_request=pull)
    with transaction.atomic():
        row = (
            StatusComment.objects.select_for_update(skip_locked=True)
            .filter(pull_request=pull)
            .first()
        )
        if row is None:
            return "unchanged"  # another run has it
        if row.digest == _digest(text):
            return "unchanged"
        try:
            with repository_client_guarded(pull.repository) as client:
                row.external_id = client.comment_put(
                    pull.repository.full_name,
                    pull.number,
                    text,
                    comment_id=row.external_id,
                )
        except ProviderTemporaryError as exc:
            _failed(row, pull, exc)
            return "unavailable"
        except ProviderError as exc:
            _failed(row, pull, exc)
            return "failed"
        row.digest, row.written_at, row.error = _digest(text), now, ""
        row.save(update_fields=["external_id", "digest", "written_at", "error"])
    return "written"


def _failed(row: StatusComment, pull: PullRequest, exc: Exception) -> None:
    row.error = f"{exc.__class__.__name__}: {exc}"[:500]
    row.save(update_fields=["error", "updated_at"])
    logger.warning(
        "reviews.status_comment.failed",
        extra={"pull": pull.pk, "error": row.error},
    )
