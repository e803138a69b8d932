"""Assignment benchmark: a 20-person team, GitLab-style CODEOWNERS with sections,
vacations and a capacity cap, over 1,000 pull requests, for each strategy.

Usage (from the repository root): ``make bench-assignment`` or
``.venv/bin/python -m bench.assignment.run [--pulls 1000] [--seed 7]``.

The real ``reviewer_assign`` runs against PostgreSQL; only the provider is an
in-process fake (changed files, CODEOWNERS, busy status, the reviewer request),
because provider latency is not what is measured. A pull request stays open
for a random 5-40 arrivals, then its requested reviewers approve it and it
merges, so load comes and goes and expertise builds from history.

Every 100th arrival is a burst: six pull requests opened in the same second,
assigned at once from six threads, and the provider's copy of the requested
reviewers updated only after all six (as its webhooks come later).

Reported per strategy: load spread (max / mean open requests over the members
who may review, i.e. not away, at every 50th arrival), the share of pull
requests whose every required section got one of its code owners, assignments
to an author or an unavailable person (must be 0), capacity overruns (a member
with more open requests than their capacity of 3, at any arrival; must be 0),
and assignment time per pull request (target p95 < 50 ms).
"""

from __future__ import annotations

import argparse
import random
import statistics
import threading
import time
from datetime import timedelta

from bench.services import bench_environment, django_setup

PEOPLE = [f"dev{index:02d}" for index in range(20)]
CAPACITY = 3
BURST = 6
AREAS = {  # section -> (path prefix, its five owners)
    "API": ("api", PEOPLE[0:5]),
    "Web": ("web", PEOPLE[5:10]),
    "Mobile": ("mobile", PEOPLE[10:15]),
    "Infra": ("infra", PEOPLE[15:20]),
}
CODEOWNERS = "\n".join(
    [
        *(
            f"[{section}]\n/{prefix}/ @acme/{prefix}"
            for section, (prefix, _) in AREAS.items()
        ),
        "^[Docs]\n/docs/ @dev00 @dev05",
    ]
)
STRATEGIES = ["round_robin", "load_balance", "open_load", "expertise"]


class FakeClient:
    """The provider side of an assignment, answered from memory."""

    def __init__(self) -> None:
        self.files: dict[int, list[str]] = {}
        self.requested: dict[int, list[str]] = {}
        self.teams: dict[int, list[str]] = {}

    def changed_files(self, full_name: str, number: int) -> list[str]:
        return self.files[number]

    def committers(self, full_name: str, number: int) -> list[str]:
        return []  # authors commit their own changes here

    def file_read(self, full_name: str, path: str, ref: str) -> str | None:
        return CODEOWNERS if path == "CODEOWNERS" else None

    def team_members(self, full_name: str, team: str) -> list[str]:
        return []  # teams are listed in the review settings

    def users_busy(self, logins: list[str]) -> dict[str, str]:
        return {}

    def reviewers_request(self, full_name, number, *, logins, teams) -> None:
        self.requested[number] = list(logins)
        self.teams[number] = list(teams)


def simulate(strategy: str, pulls: int, seed: int, client: FakeClient) -> dict:
    from django.utils import timezone

    import reviews.assignment.service as assignment_service
    from integrations.models import (
        ConnectedRepository,
        Organization,
        ProviderCredential,
    )
    from reviews.models import (
        AvailabilityWindow,
        ProviderIdentity,
        PullRequest,
        RepositoryReviewSettings,
        ReviewerProfile,
    )

    rng = random.Random(seed)
    # The service holds its own reference to the credentials' function (the
    # provider boundary moved it out of integrations.services): replace that
    # one, or every assignment calls an unreachable GitLab and waits out its
    # timeouts.
    assignment_service.repository_client = lambda repository: client
    organization = Organization.objects.create(name=strategy, slug=strategy)
    credential = ProviderCredential(
        provider="gitlab", api_url="https://gitlab.example.com", kind="access_token"
    )
    credential.token = "bench-token"
    credential.save()
    repository = ConnectedRepository.objects.create(
        organization=organization,
        provider="gitlab",
        host="gitlab.example.com",
        full_name=f"acme/{strategy}",
        external_id=1000 + STRATEGIES.index(strategy),
        default_branch="main",
        credential=credential,
    )
    RepositoryReviewSettings.objects.create(
        repository=repository,
        strategy=strategy,
        teams={f"@acme/{prefix}": owners for prefix, owners in AREAS.values()},
    )
    identities = {
        login: ProviderIdentity.objects.get_or_create(
            provider="gitlab", host="gitlab.example.com", login=login
        )[0]
        for login in PEOPLE
    }
    for identity in identities.values():
        ReviewerProfile.objects.update_or_create(
            identity=identity, defaults={"capacity": CAPACITY}
        )

    now = timezone.now()
    closes_at: dict[int, int] = {}
    timings: list[float] = []
    burst_timings: list[float] = []
    spreads = []
    with_owner = with_owner_or_team = bad = overruns = assigned = 0
    away: set[str] = set()
    for step in range(pulls):
        if step % 250 == 0:  # a new set of people goes on vacation
            AvailabilityWindow.objects.filter(identity__login__in=PEOPLE).delete()
            away = set(rng.sample(PEOPLE, 3))
            for login in away:
                AvailabilityWindow.objects.create(
                    identity=identities[login],
                    starts_at=now - timedelta(days=1),
                    ends_at=now + timedelta(days=7),
                )
        _merge_due(step, closes_at, repository, client, now)
        numbers = [step * BURST + offset + 1 for offset in range(_burst_size(step))]
        pulls_now = []
        for number in numbers:
            author = rng.choice(PEOPLE)
            touched = rng.sample(list(AREAS), rng.choice([1, 1, 1, 2]))
            client.files[number] = [
                f"{AREAS[area][0]}/module{rng.randrange(8)}/file{rng.randrange(5)}.py"
                for area in touched
                for _ in range(rng.randrange(1, 4))
            ] + (["docs/guide.md"] if rng.random() < 0.1 else [])
            pull = PullRequest.objects.create(
                repository=repository,
                number=number,
                title=f"Change {number}",
                state="open",
                draft=False,
                author_login=author,
                additions=rng.randrange(5, 400),
                deletions=rng.randrange(0, 100),
                base_ref="main",
                provider_created_at=now - timedelta(minutes=pulls - step),
                provider_updated_at=now,
            )
            pulls_now.append((pull, author, touched))
        results = _assign_all(
            [pull.pk for pull, _, _ in pulls_now],
            timings if len(pulls_now) == 1 else burst_timings,
        )
        for (pull, author, touched), chosen in zip(pulls_now, results, strict=True):
            PullRequest.objects.filter(pk=pull.pk).update(requested_reviewers=chosen)
            closes_at[pull.number] = step + rng.randrange(5, 41)
            bad += sum(1 for login in chosen if login == author or login in away)
            owners_needed = [AREAS[area][1] for area in touched]
            if all(set(owners) & set(chosen) for owners in owners_needed):
                with_owner += 1
            teams = client.teams.get(pull.number, [])
            if all(
                set(AREAS[area][1]) & set(chosen) or f"@acme/{AREAS[area][0]}" in teams
                for area in touched
            ):
                with_owner_or_team += 1
            assigned += 1
        overruns += _overruns(repository)
        if step % 50 == 49:
            spreads.append(_spread(repository, away))
    return {
        "strategy": strategy,
        "timings": timings,
        "burst_timings": burst_timings,
        "spreads": spreads,
        "with_owner": with_owner,
        "with_owner_or_team": with_owner_or_team,
        "bad": bad,
        "overruns": overruns,
        "pulls": assigned,
    }


def _burst_size(step: int) -> int:
    return BURST if step % 100 == 99 else 1


def _assign_all(pull_ids: list[int], timings: list[float]) -> list[list[str]]:
    """Assign each pull request; several at once from threads (a burst)."""
    from django.db import connection

    from reviews.assignment.service import reviewer_assign

    results: dict[int, list[str]] = {}

    def assign(pull_id: int) -> None:
        started = time.perf_counter()
        assignment = reviewer_assign(pull_request_id=pull_id, trigger="opened")
        timings.append((time.perf_counter() - started) * 1000)
        results[pull_id] = list(assignment.reviewers) if assignment else []
        if threading.current_thread() is not threading.main_thread():
            connection.close()

    if len(pull_ids) == 1:
        assign(pull_ids[0])
    else:
        threads = [threading.Thread(target=assign, args=(pk,)) for pk in pull_ids]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    return [results[pk] for pk in pull_ids]


def _open_load(repository) -> dict[str, int]:
    from reviews.models import PullRequest

    load = dict.fromkeys(PEOPLE, 0)
    for reviewers in PullRequest.objects.filter(
        repository=repository, state="open"
    ).values_list("requested_reviewers", flat=True):
        for login in reviewers:
            load[login] += 1
    return load


def _overruns(repository) -> int:
    return sum(1 for count in _open_load(repository).values() if count > CAPACITY)


def _merge_due(step, closes_at, repository, client, now) -> None:
    from reviews.models import PullRequest, Review

    due = [number for number, close in closes_at.items() if close <= step]
    for number in due:
        del closes_at[number]
        pull = PullRequest.objects.get(repository=repository, number=number)
        for login in client.requested.get(number, []):
            Review.objects.create(
                pull_request=pull,
                external_id=f"{number}-{login}",
                reviewer_login=login,
                state="approved",
                submitted_at=now,
            )
        pull.state = "merged"
        pull.merged_at = now
        pull.save(update_fields=["state", "merged_at"])


def _spread(repository, away: set[str]) -> tuple[int, float]:
    load = _open_load(repository)
    eligible = [count for login, count in load.items() if login not in away]
    return max(eligible), statistics.mean(eligible)


def report(result: dict) -> str:
    timings = sorted(result["timings"])
    p95 = timings[int(len(timings) * 0.95) - 1]
    ratios = [peak / mean for peak, mean in result["spreads"] if mean]
    peak, mean = max(result["spreads"], key=lambda pair: pair[0])
    return (
        f"| {result['strategy']} | {statistics.median(ratios):.2f} "
        f"(worst {max(ratios):.2f}; peak {peak} vs mean {mean:.1f}) | "
        f"{100 * result['with_owner'] / result['pulls']:.1f} % "
        f"({100 * result['with_owner_or_team'] / result['pulls']:.1f} % with the "
        f"team asked when no owner could be) | {result['bad']} | "
        f"{result['overruns']} | "
        f"{statistics.median(timings):.1f} / {p95:.1f} / {timings[-1]:.1f} | "
        f"{max(result['burst_timings'] or [0]):.1f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pulls", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--strategy", choices=STRATEGIES, action="append")
    args = parser.parse_args()
    django_setup(bench_environment("codequest_bench_assignment", fresh=True))
    print(
        "| strategy | load spread: max / mean open requests of those not away, "
        "median of samples | "
        "every required section has an owner | author or unavailable chosen | "
        "capacity overruns | ms per assignment p50 / p95 / max | "
        "ms, slowest of a burst of six |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for strategy in args.strategy or STRATEGIES:
        result = simulate(strategy, args.pulls, args.seed, FakeClient())
        print(report(result), flush=True)


if __name__ == "__main__":
    main()
