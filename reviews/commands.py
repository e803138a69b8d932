"""Commands in pull request comments (README "Commands in pull request
comments"): ``/codequest reroll``, ``decline [reason]``, ``snooze 2h|tomorrow``,
``claim`` and ``why``, on GitHub and GitLab.

A new comment with a command line is recorded once (``pull_command_record``,
on the delivery's road: a replay finds the row) and run once in the background
(``pull_command_run``). Only people of the repository's team may use them;
every command is answered with a short reply on the pull request and kept with
its outcome.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from integrations.credentials import repository_client
from integrations.models import OrganizationMembership
from integrations.providers.base import (
    CommentSnapshot,
    ProviderError,
    ProviderTemporaryError,
    RepoClient,
)
from reviews.assignment.service import reviewer_assign
from reviews.business_time import next_working_moment, working_day_of, zone_get
from reviews.models import (
    PullCommand,
    PullRequest,
    PullState,
    ReviewAssignment,
    ReviewerProfile,
    ReviewRequest,
)

logger = logging.getLogger(__name__)

# A line that starts with the command; the rest of the comment is the person's.
COMMAND = re.compile(r"^[ \t]*/codequest[ \t]+(\S+)[ \t]*(.*?)[ \t]*$", re.M | re.I)
NAMES = ("reroll", "decline", "snooze", "claim", "why")
USAGE = "reroll, decline [reason], snooze 2h|tomorrow, claim, why"
FRESH = timedelta(hours=24)  # an older comment (an import) runs nothing
SNOOZE = re.compile(r"(\d{1,3})\s*([mhd])", re.I)
SNOOZE_MAX = timedelta(days=7)

Status = PullCommand.Status


def command_parse(body: str) -> tuple[str, str] | None:
    """The first ``/codequest`` line of a comment: (name, argument)."""
    found = COMMAND.search(body or "")
    if found is None:
        return None
    return found.group(1).lower()[:20], found.group(2)[:200]


def pull_command_record(
    *,
    pull_request: PullRequest,
    comment: CommentSnapshot,
    followed_since: datetime | None,
) -> PullCommand | None:
    """Keep a new comment's command, once; None when there is none to run (no
    command, a bot's comment, or one older than the following or a day)."""
    parsed = command_parse(comment.body)
    if parsed is None or comment.is_deleted or comment.author.is_bot:
        return None
    if followed_since is not None and comment.created_at < followed_since:
        return None
    if comment.created_at < timezone.now() - FRESH:
        return None
    name, argument = parsed
    try:
        with transaction.atomic():
            return PullCommand.objects.create(
                pull_request=pull_request,
                comment_kind=str(comment.kind),
                comment_external_id=comment.external_id,
                author_login=comment.author.login,
                name=name,
                argument=argument,
            )
    except IntegrityError:
        return None  # seen before (a redelivery, a replay)


@dataclass(frozen=True, slots=True)
class Outcome:
    status: str
    reply: str


def pull_command_run(*, command_id: int, now: datetime | None = None) -> str:
    """Run a recorded command once and answer it on the pull request."""
    if not PullCommand.objects.filter(pk=command_id, status=Status.RECEIVED).update(
        status=Status.RUNNING
    ):
        return "taken"
    command = PullCommand.objects.select_related(
        "pull_request__repository__organization"
    ).get(pk=command_id)
    now = now or timezone.now()
    try:
        client = repository_client(command.pull_request.repository)
        outcome = _outcome(command, client, now)
        _reply(command, client, outcome.reply)
    except ProviderTemporaryError:
        PullCommand.objects.filter(pk=command_id).update(status=Status.RECEIVED)
        raise  # the task tries again
    except ProviderError as exc:
        outcome = Outcome(Status.FAILED, "")
        command.error = str(exc)[:2000]
    command.status, command.reply = outcome.status, outcome.reply
    command.finished_at = timezone.now()
    command.save(update_fields=["status", "reply", "error", "finished_at"])
    return str(command.status)


def _outcome(command: PullCommand, client: RepoClient, now: datetime) -> Outcome:
    pull = command.pull_request
    who = f"@{command.author_login}"
    team = pull.repository.organization
    if not _in_team(command):
        name = team.name if team else "this repository's team"
        return Outcome(
            Status.REFUSED,
            f"{who}: only members of {name} on CodeQuest can use its commands here.",
        )
    if command.name not in NAMES:
        return Outcome(
            Status.REFUSED,
            f"{who}: there is no `{command.name}` command. Try: {USAGE}.",
        )
    if pull.state != PullState.OPEN:
        return Outcome(Status.REFUSED, f"{who}: this pull request is not open.")
    return HANDLERS[command.name](command, client, now)


def _in_team(command: PullCommand) -> bool:
    """The author's login is linked to someone in the repository's team."""
    repository = command.pull_request.repository
    if repository.organization_id is None:
        return False
    return OrganizationMembership.objects.filter(
        organization_id=repository.organization_id,
        user__member__identities__provider=repository.provider,
        user__member__identities__host=repository.host,
        user__member__identities__login__iexact=command.author_login,
    ).exists()


def _asked(pull: PullRequest) -> dict[str, ReviewRequest]:
    """Open, unanswered requests by login (lowercased)."""
    return {
        request.reviewer_login.lower(): request
        for request in ReviewRequest.objects.filter(
            pull_request=pull, is_active=True, responded_at__isnull=True
        )
    }


def _chosen_by_us(pull: PullRequest) -> set[str]:
    return {
        login.lower()
        for reviewers in ReviewAssignment.objects.filter(
            pull_request=pull, status=ReviewAssignment.Status.REQUESTED
        ).values_list("reviewers", flat=True)
        for login in reviewers or ()
    }


def _replace(
    command: PullCommand,
    client: RepoClient,
    leaving: list[str],
    staying: list[str],
    reason: str,
) -> tuple[ReviewAssignment | None, str]:
    """Ask others for ``leaving`` (the same pipeline, them filtered out with
    ``reason``), then withdraw their requests; the new names, for the reply."""
    pull = command.pull_request
    assignment = reviewer_assign(
        pull_request_id=pull.pk,
        trigger=command.name,
        exclude=leaving,
        exclude_reason=reason,
        keep=staying,
        count=len(leaving),
    )
    if assignment is None or assignment.status != ReviewAssignment.Status.REQUESTED:
        return assignment, ""
    client.reviewers_remove(pull.repository.full_name, pull.number, logins=leaving)
    ReviewRequest.objects.filter(
        pull_request=pull, reviewer_login__in=leaving, reassigned_at__isnull=True
    ).update(reassigned_at=timezone.now())
    names = [f"@{login}" for login in assignment.reviewers]
    names += [f"@{team}" for team in assignment.teams]
    return assignment, ", ".join(names)


def _reroll(command: PullCommand, client: RepoClient, now: datetime) -> Outcome:
    """Someone else instead of the people CodeQuest asked who have not answered
    (instead of oneself only, when one of them asks)."""
    pull, who = command.pull_request, f"@{command.author_login}"
    asked = _asked(pull)
    ours = [login for login in asked if login in _chosen_by_us(pull)]
    me = command.author_login.lower()
    leaving = [me] if me in ours else ours
    if not leaving:
        return Outcome(
            Status.REFUSED,
            f"{who}: nobody CodeQuest asked is still waiting to review here, so "
            "there is nobody to reroll.",
        )
    staying = [login for login in asked if login not in leaving]
    assignment, names = _replace(command, client, leaving, staying, "rerolled")
    if not names:
        return Outcome(
            Status.DONE,
            f"{who}: nobody else fits ({_note(assignment)}); the request stays.",
        )
    gone = ", ".join(f"@{login}" for login in leaving)
    return Outcome(Status.DONE, f"{who}: rerolled. Asked {names} instead of {gone}.")


def _decline(command: PullCommand, client: RepoClient, now: datetime) -> Outcome:
    pull, who = command.pull_request, f"@{command.author_login}"
    me = command.author_login.lower()
    asked = _asked(pull)
    if me not in asked:
        return Outcome(
            Status.REFUSED, f"{who}: decline is for the people asked to review."
        )
    reason = command.argument or "declined"
    staying = [login for login in asked if login != me]
    assignment, names = _replace(
        command, client, [me], staying, f"declined: {reason}"[:100]
    )
    if not names:
        client.reviewers_remove(pull.repository.full_name, pull.number, logins=[me])
        return Outcome(
            Status.DONE,
            f"{who} declined. Nobody else fits ({_note(assignment)}); "
            "the team is asked to pick someone.",
        )
    return Outcome(Status.DONE, f"{who} declined. Asked {names} instead.")


def _snooze(command: PullCommand, client: RepoClient, now: datetime) -> Outcome:
    pull, who = command.pull_request, f"@{command.author_login}"
    request = _asked(pull).get(command.author_login.lower())
    if request is None:
        return Outcome(
            Status.REFUSED, f"{who}: snooze is for the people asked to review."
        )
    until = _snooze_until(command, now)
    if until is None:
        return Outcome(
            Status.REFUSED,
            f"{who}: snooze for how long? `/codequest snooze 2h`, `30m`, `1d` "
            "(a week at most) or `tomorrow`.",
        )
    ReviewRequest.objects.filter(pk=request.pk).update(snoozed_until=until)
    zone = until.tzinfo
    return Outcome(
        Status.DONE,
        f"{who}: no reminders until {until:%a %d %b, %H:%M} ({zone}).",
    )


def _snooze_until(command: PullCommand, now: datetime) -> datetime | None:
    text = command.argument.strip().lower()
    if text == "tomorrow":  # the start of the next working day, in their zone
        day = working_day_of(_profile(command))
        tz = zone_get(day.get("zone", "UTC"))
        local = now.astimezone(tz)
        midnight = datetime(local.year, local.month, local.day, tzinfo=tz)
        return next_working_moment(midnight + timedelta(days=1), **day)
    found = SNOOZE.fullmatch(text)
    if found is None:
        return None
    amount, unit = int(found.group(1)), found.group(2)
    span = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1)}
    length = amount * span[unit]
    if not timedelta(0) < length <= SNOOZE_MAX:
        return None
    return now + length


def _profile(command: PullCommand) -> ReviewerProfile | None:
    repository = command.pull_request.repository
    return ReviewerProfile.objects.filter(
        identity__provider=repository.provider,
        identity__host=repository.host,
        identity__login__iexact=command.author_login,
    ).first()


def _claim(command: PullCommand, client: RepoClient, now: datetime) -> Outcome:
    pull, who = command.pull_request, f"@{command.author_login}"
    if not pull.requested_teams:
        return Outcome(
            Status.REFUSED, f"{who}: no team is asked to review this pull request."
        )
    if command.author_login.lower() == pull.author_login.lower():
        return Outcome(Status.REFUSED, f"{who}: you cannot review your own change.")
    client.reviewers_request(
        pull.repository.full_name, pull.number, logins=[command.author_login], teams=[]
    )
    teams = ", ".join(f"@{team}" for team in pull.requested_teams)
    return Outcome(Status.DONE, f"{who} takes this review (asked of {teams}).")


def _why(command: PullCommand, client: RepoClient, now: datetime) -> Outcome:
    pull, who = command.pull_request, f"@{command.author_login}"
    assignment = (
        ReviewAssignment.objects.filter(pull_request=pull)
        .exclude(status=ReviewAssignment.Status.FAILED)
        .order_by("-created_at", "-pk")
        .first()
    )
    if assignment is None:
        asked = ", ".join(f"@{login}" for login in _asked(pull)) or "nobody yet"
        return Outcome(
            Status.DONE,
            f"{who}: CodeQuest has not chosen reviewers here; asked: {asked}.",
        )
    explanation = assignment.explanation or {}
    pool = explanation.get("pool") or {}
    lines = [f"{who}: why these reviewers ({explanation.get('strategy', '')}):"]
    for login in assignment.reviewers:
        reasons = "; ".join(pool.get(login) or ()) or "chosen"
        lines.append(f"- @{login}: {reasons}")
    for team in assignment.teams:
        lines.append(f"- @{team}: the owning team (nobody available by name)")
    filtered = explanation.get("filtered") or {}
    if filtered:
        left = "; ".join(f"{login} ({why})" for login, why in sorted(filtered.items()))
        lines.append(f"Left out: {left}.")
    return Outcome(Status.DONE, "\n".join(lines))


def _note(assignment: ReviewAssignment | None) -> str:
    if assignment is None:
        return "no candidates"
    return str(
        (assignment.explanation or {}).get("note")
        or assignment.error
        or "no candidates"
    )


def _reply(command: PullCommand, client: RepoClient, text: str) -> None:
    """Answer on the pull request; never a line that reads as a command."""
    if not text:
        return
    safe = COMMAND.sub(
        lambda found: found.group(0).replace("/codequest", "codequest"), text
    )
    pull = command.pull_request
    client.comment_create(pull.repository.full_name, pull.number, safe)


HANDLERS = {
    "reroll": _reroll,
    "decline": _decline,
    "snooze": _snooze,
    "claim": _claim,
    "why": _why,
}
