"""A suggested CODEOWNERS from history: who wrote and who reviewed the pull
requests touching each top-level directory (pure, from facts read by the
caller), with the reason for each line.

Reviewing counts double: owners are who should be asked to review. Bots never
own anything; a directory needs at least two contributions from a person to
name them, and gets at most two owners.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

REVIEW_WEIGHT = 2
AUTHOR_WEIGHT = 1
MIN_WEIGHT = 2
OWNERS_PER_PATH = 2


@dataclass(frozen=True)
class PullHistory:
    """One merged pull request: its author, reviewers and changed paths."""

    author: str
    reviewers: tuple[str, ...]
    paths: tuple[str, ...]


def area_of(path: str) -> str:
    """The CODEOWNERS pattern a path is grouped under: its top-level
    directory (``/api/``), or the root (``*``) for a file at the top."""
    head, _, rest = path.lstrip("/").partition("/")
    return f"/{head}/" if rest else "*"


def codeowners_suggest(history: Iterable[PullHistory]) -> tuple[str, list[str]]:
    """(CODEOWNERS text, one explanation line per owned pattern); an empty
    text when history names nobody."""
    weights: dict[str, Counter[str]] = defaultdict(Counter)
    authored: dict[str, Counter[str]] = defaultdict(Counter)
    reviewed: dict[str, Counter[str]] = defaultdict(Counter)
    pulls: Counter[str] = Counter()
    for pull in history:
        for area in {area_of(path) for path in pull.paths if path}:
            pulls[area] += 1
            if _is_person(pull.author):
                weights[area][pull.author] += AUTHOR_WEIGHT
                authored[area][pull.author] += 1
            for login in set(pull.reviewers) - {pull.author}:
                if _is_person(login):
                    weights[area][login] += REVIEW_WEIGHT
                    reviewed[area][login] += 1
    lines, reasons = [], []
    # The root pattern first: a later, more specific line wins in CODEOWNERS.
    for area in sorted(weights, key=lambda item: (item != "*", item)):
        owners = [
            login
            for login, weight in sorted(
                weights[area].items(), key=lambda item: (-item[1], item[0])
            )
            if weight >= MIN_WEIGHT
        ][:OWNERS_PER_PATH]
        if not owners:
            continue
        lines.append(f"{area} " + " ".join(f"@{login}" for login in owners))
        said = "; ".join(
            f"@{login} reviewed {reviewed[area][login]} and wrote "
            f"{authored[area][login]}"
            for login in owners
        )
        reasons.append(
            f"`{area}`: {said} of the {pulls[area]} pull requests touching it"
        )
    if not lines:
        return "", []
    header = (
        "# Suggested by CodeQuest from who wrote and reviewed these paths.\n"
        "# Review it like any change: it decides who is asked to review.\n"
    )
    return header + "\n".join(lines) + "\n", reasons


def _is_person(login: str) -> bool:
    return bool(login) and not login.lower().endswith(("[bot]", "-bot", "_bot"))


DRIFT_MIN_PULLS = 5  # pull requests touching a path before we judge its owners
DRIFT_MAX_SHARE = 0.2  # owners reviewing less than this share have drifted


def codeowners_drift(
    text: str, history: Iterable[PullHistory]
) -> tuple[str, list[str]]:
    """``text`` with the owners of each drifted line replaced by who actually
    reviews there (and why); ("", []) when nothing drifted.

    Only lines whose pattern is one of our areas (``/dir/`` or ``*``) and whose
    owners are all people are judged: a team or an email owner says more than
    history can check."""
    history = list(history)
    reviewed: dict[str, Counter[str]] = defaultdict(Counter)
    pulls: Counter[str] = Counter()
    for pull in history:
        for area in {area_of(path) for path in pull.paths if path}:
            pulls[area] += 1
            for login in set(pull.reviewers) - {pull.author}:
                if _is_person(login):
                    reviewed[area][login] += 1
    suggested, _ = codeowners_suggest(history)
    proposals = {
        line.split()[0]: line.split()[1:]
        for line in suggested.splitlines()
        if line and not line.startswith("#")
    }
    lines, reasons = [], []
    for line in text.splitlines():
        parts = line.split()
        pattern, owners = (parts[0], parts[1:]) if parts else ("", [])
        judged = (
            pattern in proposals
            and owners
            and not line.lstrip().startswith("#")
            and all(owner.startswith("@") and "/" not in owner for owner in owners)
            and pulls[pattern] >= DRIFT_MIN_PULLS
        )
        if judged:
            logins = [owner.lstrip("@") for owner in owners]
            share = sum(reviewed[pattern][login] for login in logins) / max(
                sum(reviewed[pattern].values()), 1
            )
            new = proposals[pattern]
            if share < DRIFT_MAX_SHARE and sorted(new) != sorted(owners):
                lines.append(f"{pattern} {' '.join(new)}")
                did = ", ".join(
                    f"{owner} reviewed {reviewed[pattern][owner.lstrip('@')]}"
                    for owner in owners
                )
                now = ", ".join(
                    f"{owner} {reviewed[pattern][owner.lstrip('@')]}" for owner in new
                )
                reasons.append(
                    f"`{pattern}`: {did} of the {pulls[pattern]} pull requests "
                    f"touching it; reviews came from {now}"
                )
                continue
        lines.append(line)
    if not reasons:
        return "", []
    return "\n".join(lines) + ("\n" if text.endswith("\n") else ""), reasons
