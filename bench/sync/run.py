"""Reconciliation benchmark: 200 repositories x 50 pull requests against a fake
GitHub on loopback.

Usage (from the repository root): ``make bench-sync`` or
``.venv/bin/python -m bench.sync.run [--repositories 200] [--pulls 50]``.

The fake (``bench/sync/fake_github.py``) serves GitHub's pull request list
(sorted by update, paginated, ETag + 304 to ``If-None-Match``) and reviews,
rendered from a recorded ``pull_request`` object, with GitHub's rate-limit
headers; it counts every request and every point (each answer but a 304).
The real ``repository_sync`` runs for every repository in turn, against
PostgreSQL (a fresh database, ``codequest_bench_sync``).

Rounds:
0. first sync of every repository (the import; reported, not a target);
1. 1 % of the pull requests changed (a new review and a new update time);
2. nothing changed.
Reported per round: requests, primary rate-limit points, points per changed
pull request, changes applied, wall time. Targets: 0 points for every
unchanged repository, at most 2 points per changed pull request, a round in
under 60 s.
"""

from __future__ import annotations

import argparse
import random
import threading
import time

from bench.services import bench_environment, django_setup
from bench.sync.fake_github import FakeGitHubServer


def setup_repositories(base_url: str, count: int) -> list:
    from integrations.models import ConnectedRepository, ProviderCredential

    credential = ProviderCredential(
        provider="github", api_url=base_url, kind="access_token"
    )
    credential.token = "bench-token"
    credential.save()
    return [
        ConnectedRepository.objects.create(
            provider="github",
            host="github.com",
            external_id=index + 1,
            full_name=f"bench/service-{index:03d}",
            credential=credential,
            webhook_status="verified",
        )
        for index in range(count)
    ]


def sync_round(repositories: list, server: FakeGitHubServer, label: str) -> dict:
    from integrations.services.sync import repository_sync

    before_requests, before_points = server.requests, server.points
    unchanged_points = 0
    changes = 0
    started = time.perf_counter()
    for repository in repositories:
        points_before = server.points
        run = repository_sync(repository=repository, trigger="bench").run
        changes += run.changes
        if not run.changes:
            unchanged_points += server.points - points_before
    return {
        "round": label,
        "requests": server.requests - before_requests,
        "points": server.points - before_points,
        "unchanged_points": unchanged_points,
        "changes": changes,
        "seconds": time.perf_counter() - started,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repositories", type=int, default=200)
    parser.add_argument("--pulls", type=int, default=50)
    parser.add_argument("--changed", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    env = bench_environment("codequest_bench_sync", fresh=True)
    env["GITHUB_SECONDS_BETWEEN_REQUESTS"] = ""
    # Redis, as in production: ETags must outlive the rounds (the default
    # local-memory cache keeps 300 entries and would evict them).
    broker = env["CELERY_BROKER_URL"]
    env["CACHE_URL"] = broker.rsplit("/", 1)[0] + "/3"
    django_setup(env)
    from django.conf import settings
    from django.core.cache import cache

    cache.clear()  # nothing left from an earlier run
    settings.GITHUB_SECONDS_BETWEEN_REQUESTS = None
    rng = random.Random(args.seed)
    server = FakeGitHubServer(args.repositories, args.pulls)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    repositories = setup_repositories(server.base_url, args.repositories)
    print(
        f"{args.repositories} repositories x {args.pulls} pull requests; "
        f"fake GitHub at {server.base_url}",
        flush=True,
    )
    print(
        "| round | requests | rate-limit points | points on unchanged repositories "
        "| changed pull requests | points per changed PR | changes applied "
        "| wall time |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    from integrations.providers.cache import repository_cache_invalidate

    def five_minutes_later() -> None:
        # Rounds are 5 minutes apart in production: the 1-minute list cache has
        # expired; ETags (kept a day) have not, so reads are conditional.
        for repository in repositories:
            repository_cache_invalidate(repository.provider, repository.full_name)

    results = [sync_round(repositories, server, "0: first sync")]
    changed = server.change(rng, args.changed)
    five_minutes_later()
    results.append(sync_round(repositories, server, f"1: {args.changed:.0%} changed"))
    five_minutes_later()
    results.append(sync_round(repositories, server, "2: nothing changed"))
    for result, touched in zip(results, [None, changed, 0], strict=True):
        per_pr = (
            f"{(result['points'] - result['unchanged_points']) / touched:.2f}"
            if touched
            else "—"
        )
        print(
            f"| {result['round']} | {result['requests']:,} | {result['points']:,} | "
            f"{result['unchanged_points']} | {touched if touched is not None else '—'} "
            f"| {per_pr} | {result['changes']:,} | {result['seconds']:.1f} s |",
            flush=True,
        )
    server.shutdown()


if __name__ == "__main__":
    main()
