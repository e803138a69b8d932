"""Assignment benchmark: a 20-person team, GitLab-style CODEOWNERS with sections,
vacations and a capacity cap, over 1,000 pull requests, for each strategy.

Usage (from the repository root): ``make bench-assignment`` or
``.venv/bin/python -m bench.assignment.run [--pulls 1000] [--seed 7]``.

The real ``reviewer_assign`` runs against PostgreSQL; only the provider is an
in-process fake (changed files, CODEOWNERS, busy status, the reviewer request),
because provider latency is not what is measured. A pull request stays open
for a random 5-40 arrivals, then its requested reviewers approve it and it
merges, so load comes and goes and expertise builds from history.

Reported per strategy: load spread (max / mean open requests per member, at
every 50th arrival), the share of pull requests whose every required section
got one of its code owners, assignments to an author or an unavailable person
(must be 0), and assignment time per pull request (target p95 < 50 ms).
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from datetime import timedelta

from bench.services import bench_environment, django_setup

PEOPLE = [f"dev{index:02d}" for index in range(20)]
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


def simulate(strategy: str, pulls: int, seed: int, client: FakeClient) -> dict:
    from django.utils import timezone

    import integrations.services as integration_services
    from integrations.models import (
        ConnectedRepository,
        Organization,
        ProviderCredential,
    )
    from reviews.assignment.service import reviewer_assign
    from reviews.models import (
        AvailabilityWindow,
        ProviderIdentity,
        PullRequest,
        RepositoryReviewSettings,
        ReviewerProfile,
    )

    rng = random.Random(seed)
    integration_services.repository_client = lambda repository: client
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
        ReviewerProfile.objects.get_or_create(identity=identity)

    now = timezone.now()
    closes_at: dict[int, int] = {}
    timings, spreads = [], []
    with_owner = bad = 0
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
        number = step + 1
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
        started = time.perf_counter()
        assignment = reviewer_assign(pull_request_id=pull.pk, trigger="opened")
        timings.append((time.perf_counter() - started) * 1000)
        chosen = list(assignment.reviewers)
        PullRequest.objects.filter(pk=pull.pk).update(requested_reviewers=chosen)
        closes_at[number] = step + rng.randrange(5, 41)
        bad += sum(1 for login in chosen if login == author or login in away)
        owners_needed = [AREAS[area][1] for area in touched]
        if all(set(owners) & set(chosen) for owners in owners_needed):
            with_owner += 1
        if step % 50 == 49:
            spreads.append(_spread(repository))
    return {
        "strategy": strategy,
        "timings": timings,
        "spreads": spreads,
        "with_owner": with_owner,
        "bad": bad,
        "pulls": pulls,
    }


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


def _spread(repository) -> tuple[int, float]:
    from reviews.models import PullRequest

    load = dict.fromkeys(PEOPLE, 0)
    for reviewers in PullRequest.objects.filter(
        repository=repository, state="open"
    ).values_list("requested_reviewers", flat=True):
        for login in reviewers:
            load[login] += 1
    return max(load.values()), statistics.mean(load.values())


def report(result: dict) -> str:
    timings = sorted(result["timings"])
    p95 = timings[int(len(timings) * 0.95) - 1]
    ratios = [peak / mean for peak, mean in result["spreads"] if mean]
    peak, mean = max(result["spreads"], key=lambda pair: pair[0])
    return (
        f"| {result['strategy']} | {statistics.median(ratios):.2f} "
        f"(worst {max(ratios):.2f}; peak {peak} vs mean {mean:.1f}) | "
        f"{100 * result['with_owner'] / result['pulls']:.1f} % | {result['bad']} | "
        f"{statistics.median(timings):.1f} / {p95:.1f} / {timings[-1]:.1f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pulls", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--strategy", choices=STRATEGIES, action="append")
    args = parser.parse_args()
    django_setup(bench_environment("codequest_bench_assignment", fresh=True))
    print(
        "| strategy | load spread: max / mean open requests, median of samples | "
        "every required section has an owner | author or unavailable chosen | "
        "ms per assignment p50 / p95 / max |"
    )
    print("| --- | --- | --- | --- | --- |")
    for strategy in args.strategy or STRATEGIES:
        result = simulate(strategy, args.pulls, args.seed, FakeClient())
        print(report(result), flush=True)


if __name__ == "__main__":
    main()
