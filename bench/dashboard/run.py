"""Dashboard benchmark: server time and SQL queries per page at team scale.

Usage (from the repository root): ``make bench-dashboard`` or
``.venv/bin/python -m bench.dashboard.run [--requests 20] [--reseed]``.

Seeds (once; ``--reseed`` starts over) 50 members in one team, 200
repositories, 100,000 pull requests over two years (2 % still open, each
waiting on one or two reviewers), 150,000 reviews and 1,000,000 ledger lines,
with PostgreSQL's COPY. Then, signed in as one member, requests every dashboard
page and the leaderboard API through Django's test client (the whole request:
middleware, view, queries, template) and reports p50 / p95 server time and the
query count. Team statistics are cached for five minutes in production, so
/dashboard/stats/ is measured both cold (cache cleared before every request)
and warm.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from datetime import timedelta

from bench.services import bench_environment, django_setup

MEMBERS, REPOSITORIES, PULLS, REVIEWS, LEDGER = 50, 200, 100_000, 150_000, 1_000_000
PAGES = [
    "/dashboard/",
    "/dashboard/queue/",
    "/dashboard/leaderboard/?period=week",
    "/dashboard/leaderboard/?period=month",
    "/dashboard/leaderboard/?period=all",
    "/dashboard/points/",
    "/dashboard/stats/",
    "/dashboard/settings/",
    "/dashboard/profile/",
    "/dashboard/quests/",
    "/dashboard/rewards/",
    "/api/v1/leaderboard/?period=all",
    "/api/v1/leaderboard/?period=month",
    "/api/v1/points/",
    "/api/v1/badges/",
    "/api/v1/quests/",
    "/api/v1/rewards/",
]


def seed(rng: random.Random) -> None:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.utils import timezone

    from integrations.models import (
        ConnectedRepository,
        Organization,
        OrganizationMembership,
    )
    from reviews.models import Member, ProviderIdentity
    from rewards.services import DEFAULT_RULES, rule_get

    started = time.perf_counter()
    team = Organization.objects.create(name="Platform", slug="platform")
    identities = []
    for index in range(MEMBERS):
        user = get_user_model().objects.create_user(
            f"member{index:02d}", password="bench-passphrase"
        )
        OrganizationMembership.objects.create(organization=team, user=user)
        member = Member.objects.create(display_name=user.username, user=user)
        identities.append(
            ProviderIdentity.objects.create(
                provider="github",
                host="github.com",
                login=f"dev{index:02d}",
                member=member,
            )
        )
    repositories = ConnectedRepository.objects.bulk_create(
        ConnectedRepository(
            organization=team,
            provider="github",
            host="github.com",
            external_id=index + 1,
            full_name=f"platform/service-{index:03d}",
        )
        for index in range(REPOSITORIES)
    )
    rules = [rule_get(key) for key in DEFAULT_RULES]
    now = timezone.now()
    logins = [identity.login for identity in identities]
    pull_ids = _copy_pulls(connection, rng, repositories, logins, now)
    _copy_reviews(connection, rng, pull_ids, logins, now)
    _copy_requests(connection, rng, pull_ids, logins, now)
    _copy_ledger(connection, rng, pull_ids, identities, rules, now, team)
    with connection.cursor() as cursor:
        # The daily totals took a million updates in one transaction (COPY
        # fires the ledger's trigger per line); a live table gets them spread
        # over months and autovacuum reuses the space. Compact it as it would be.
        cursor.execute("VACUUM FULL rewards_pointsday")
        cursor.execute("ANALYZE")
    print(f"seeded in {time.perf_counter() - started:.0f} s", flush=True)


def _copy_pulls(connection, rng, repositories, logins, now) -> list[tuple]:
    """(id, created, state, author) of every pull request."""
    columns = (
        "repository_id, number, title, author_login, author_external_id, state, "
        "draft, head_sha, head_ref, base_ref, url, requested_reviewers, "
        "requested_teams, assignees, labels, additions, deletions, merged_by_login, "
        "provider_created_at, provider_updated_at, merged_at, closed_at, "
        "created_at, updated_at, provider_tie_rank, closes_issues, ready_at, "
        "merge_commit_sha"
    )
    rows = []
    for index in range(PULLS):
        repository = repositories[index % REPOSITORIES]
        created = now - timedelta(minutes=rng.randrange(2 * 365 * 24 * 60))
        is_open = rng.random() < 0.02
        merged = None if is_open else created + timedelta(hours=rng.randrange(1, 96))
        reviewers = rng.sample(logins, rng.choice([1, 2])) if is_open else []
        rows.append(
            (
                repository.pk,
                index // REPOSITORIES + 1,
                f"Change {index}",
                rng.choice(logins),
                "",
                "open" if is_open else "merged",
                False,
                f"{index:040x}",
                "feature",
                "main",
                f"https://github.com/{repository.full_name}/pull/{index}",
                _json(reviewers),
                "[]",
                "[]",
                "[]",
                rng.randrange(1, 500),
                rng.randrange(0, 200),
                "",
                created,
                merged or created,
                merged,
                merged,
                now,
                now,
                0,
                "[]",
                created,
                "",
            )
        )
    _copy(connection, "reviews_pullrequest", columns, rows)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, provider_created_at, state, author_login, requested_reviewers, "
            "repository_id FROM reviews_pullrequest ORDER BY id"
        )
        return cursor.fetchall()


def _copy_reviews(connection, rng, pull_ids, logins, now) -> None:
    columns = (
        "pull_request_id, external_id, reviewer_login, reviewer_external_id, state, "
        "body, commit_sha, submitted_at, created_at, updated_at"
    )

    def rows():
        for index in range(REVIEWS):
            pull_id, created, _, author, *_ = pull_ids[index % len(pull_ids)]
            yield (
                pull_id,
                str(index),
                rng.choice([login for login in logins if login != author]),
                "",
                rng.choice(["approved", "approved", "commented"]),
                rng.choice(["", "Looks good; one question inline."]),
                "",
                created + timedelta(hours=rng.randrange(1, 48)),
                now,
                now,
            )

    _copy(connection, "reviews_review", columns, rows())


def _copy_requests(connection, rng, pull_ids, logins, now) -> None:
    columns = (
        "pull_request_id, reviewer_login, requested_at, is_active, created_at, "
        "updated_at"
    )
    rows = [
        (pull_id, login, now - timedelta(hours=rng.randrange(1, 120)), True, now, now)
        for pull_id, _, state, _, reviewers, _ in pull_ids
        if state == "open"
        for login in json.loads(reviewers)
    ]
    _copy(connection, "reviews_reviewrequest", columns, rows)


def _copy_ledger(connection, rng, pull_ids, identities, rules, now, team) -> None:
    columns = (
        "identity_id, rule_id, rule_version, points, reason, source, "
        "pull_request_id, repository_id, organization_id, earned_at, created_at"
    )

    def rows():
        for index in range(LEDGER):
            rule = rules[index % len(rules)]
            pull_id, created, _, _, _, repository_id = pull_ids[
                rng.randrange(len(pull_ids))
            ]
            earned = min(created + timedelta(hours=rng.randrange(1, 72)), now)
            yield (
                rng.choice(identities).pk,
                rule.pk,
                1,
                rule.points,
                f"{rule.key} #{index}",
                f"bench:{index}",
                pull_id,
                repository_id,
                team.pk,
                earned,
                earned,
            )

    _copy(connection, "rewards_pointsentry", columns, rows())


def _copy(connection, table: str, columns: str, rows) -> None:
    """Stream rows into ``table`` with COPY (far faster than INSERTs)."""
    with (
        connection.cursor() as cursor,
        cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)


def _json(values: list[str]) -> str:
    return json.dumps(values)


def _check_seed() -> None:
    """The pages must show the seeded data, or the timings mean nothing."""
    from django.contrib.auth import get_user_model

    from reviews.selectors import my_identities, review_queue
    from rewards.selectors import leaderboard_list

    user = get_user_model().objects.get(username="member07")
    board = leaderboard_list(user=user, period="all")
    queue = review_queue(user=user, identities=my_identities(user))
    total = sum(row["points"] + row["provisional"] for row in board)
    print(
        f"sanity: all-time leaderboard {len(board)} people, {total:,} points; "
        f"member07's queue {len(queue)} pull requests",
        flush=True,
    )
    if len(board) != MEMBERS or not queue:
        raise SystemExit("bench: the seeded data is not visible; figures would lie")


def measure(url: str, requests: int, *, cold: bool = False) -> tuple:
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.get(username="member07"))
    for _ in range(2):
        if cold:
            cache.clear()
        assert client.get(url).status_code == 200, url
    timings, queries = [], 0
    for _ in range(requests):
        if cold:
            cache.clear()
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(url)
            timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, url
        queries = len(captured.captured_queries)
    timings.sort()
    p95 = timings[max(int(len(timings) * 0.95) - 1, 0)]
    return statistics.median(timings), p95, queries


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--reseed", action="store_true")
    args = parser.parse_args()
    env = bench_environment("codequest_bench_dashboard", fresh=args.reseed)
    env["DJANGO_ALLOWED_HOSTS"] = "testserver"
    django_setup(env)
    from reviews.models import PullRequest

    if not PullRequest.objects.exists():
        seed(random.Random(11))
    _check_seed()
    print("| page | p50 ms | p95 ms | SQL queries |")
    print("| --- | --- | --- | --- |")
    for url in PAGES:
        cold = url.startswith("/dashboard/stats/")
        p50, p95, queries = measure(url, args.requests, cold=cold)
        label = f"{url} (cold cache)" if cold else url
        print(f"| {label} | {p50:.1f} | {p95:.1f} | {queries} |", flush=True)
    p50, p95, queries = measure("/dashboard/stats/", args.requests)
    print(f"| /dashboard/stats/ (warm cache) | {p50:.1f} | {p95:.1f} | {queries} |")


if __name__ == "__main__":
    main()
