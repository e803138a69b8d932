"""Processing benchmark: how fast one worker process applies stored deliveries.

Usage (from the repository root): ``make bench-processing`` or
``.venv/bin/python -m bench.processing.run [--pulls 400] [--profile]``.

A realistic mix, built from the recorded GitHub deliveries in
``../shared/fixtures/github`` (each made unique: repository, number, ids and
times): for every pull request an ``opened``, a ``synchronize``, a review
(``pull_request_review.submitted``), an inline comment
(``pull_request_review_comment.created``), a conversation comment
(``issue_comment.created``) and the merge (``closed``), spread over 20
repositories known from earlier deliveries, by a team whose size grows with
the volume (a reviewer reviews about ten pull requests that day, an author
opens about five). They are stored as the receiver
stores them and applied by ``deliveries_process`` in batches of 200 (what the
dispatcher hands a worker), in one process, against PostgreSQL (a fresh
database, ``codequest_bench_processing``).

Reported: deliveries per second, milliseconds and queries per delivery, and
with ``--profile`` where the time goes (cProfile, cumulative).
"""

from __future__ import annotations

import argparse
import copy
import cProfile
import json
import pstats
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

from bench.services import ROOT, bench_environment, django_setup

FIXTURES = ROOT.parent / "shared" / "fixtures" / "github"
BATCH = 200
REPOSITORIES = 20


def load(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def deliveries(pulls: int) -> list[tuple[str, dict]]:
    """(event, payload) in provider order for ``pulls`` pull requests."""
    opened = load("pull_request.opened.1.json")
    review = load("pull_request_review.submitted.1.json")
    inline = load("pull_request_review_comment.created.1.json")
    talk = load("issue_comment.created.1.json")
    start = datetime.now(UTC) - timedelta(days=1)
    # A team's size grows with its volume: each reviewer reviews about ten pull
    # requests of the day, each author opens about five.
    reviewers, authors = max(5, pulls // 10), max(7, pulls // 5)
    mix: list[tuple[str, dict]] = []
    for index in range(pulls):
        repo = copy.deepcopy(opened["repository"])
        repo["id"] = 5_000_000 + index % REPOSITORIES
        repo["full_name"] = f"bench/service-{index % REPOSITORIES:02d}"
        number = index + 1
        at = start + timedelta(seconds=30 * index)
        pull = copy.deepcopy(opened["pull_request"])
        pull.update(number=number, id=9_000_000 + index, updated_at=stamp(at))
        pull["html_url"] = f"https://github.com/{repo['full_name']}/pull/{number}"
        pull["user"] = {**pull["user"], "login": f"author{index % authors}"}

        def event(payload: dict, repo: dict = repo, **changes) -> dict:
            payload = copy.deepcopy(payload)
            payload["repository"] = repo
            payload.update(changes)
            return payload

        mix.append(("pull_request", event(opened, action="opened", pull_request=pull)))
        pushed = {**pull, "updated_at": stamp(at + timedelta(minutes=1))}
        pushed["head"] = {**pull["head"], "sha": f"{index:039x}a"}
        mix.append(
            ("pull_request", event(opened, action="synchronize", pull_request=pushed))
        )
        reviewer = f"reviewer{index % reviewers}"
        submitted = {
            **review["review"],
            "id": 7_000_000 + index,
            "user": {**review["review"]["user"], "login": reviewer},
            "submitted_at": stamp(at + timedelta(minutes=5)),
            "commit_id": pushed["head"]["sha"],
            "body": "Looks right; one question inline.",
        }
        mix.append(
            (
                "pull_request_review",
                event(review, pull_request=pushed, review=submitted),
            )
        )
        comment = {
            **inline["comment"],
            "id": 8_000_000 + index,
            "pull_request_review_id": submitted["id"],
            "user": {**inline["comment"]["user"], "login": reviewer},
            "created_at": stamp(at + timedelta(minutes=5)),
            "updated_at": stamp(at + timedelta(minutes=5)),
            "body": "Could this loop stop early when the list is empty?",
        }
        mix.append(
            (
                "pull_request_review_comment",
                event(inline, pull_request=pushed, comment=comment),
            )
        )
        issue = {
            **talk["issue"],
            "number": number,
            "pull_request": {"url": pull["url"], "html_url": pull["html_url"]},
        }
        said = {
            **talk["comment"],
            "id": 8_500_000 + index,
            "user": {**talk["comment"]["user"], "login": f"author{index % authors}"},
            "created_at": stamp(at + timedelta(minutes=6)),
            "updated_at": stamp(at + timedelta(minutes=6)),
            "body": "Good catch, fixed in the next push; thanks for looking.",
        }
        mix.append(("issue_comment", event(talk, issue=issue, comment=said)))
        merged = {
            **pushed,
            "state": "closed",
            "merged": True,
            "merged_at": stamp(at + timedelta(minutes=9)),
            "closed_at": stamp(at + timedelta(minutes=9)),
            "updated_at": stamp(at + timedelta(minutes=9)),
        }
        mix.append(
            ("pull_request", event(opened, action="closed", pull_request=merged))
        )
    return mix


def store(mix: list[tuple[str, dict]], prefix: str) -> list[int]:
    """The rows the receiver would have written (pending), in arrival order."""
    from integrations.models import WebhookDelivery
    from integrations.providers import get_provider

    github = get_provider("github")
    rows = []
    for index, (event, payload) in enumerate(mix):
        action, repository = github.summarize(event, payload)
        rows.append(
            WebhookDelivery(
                provider="github",
                delivery_id=f"{prefix}-{index}",
                event=event,
                action=action,
                repository_name=repository,
                body=json.dumps(payload).encode(),
            )
        )
    return [row.pk for row in WebhookDelivery.objects.bulk_create(rows)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pulls", type=int, default=400)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--sort", default="cumulative")
    parser.add_argument("--filter", default="")
    parser.add_argument(
        "--queries", action="store_true", help="count the statements by kind"
    )
    args = parser.parse_args()
    if not FIXTURES.exists():
        raise SystemExit(f"bench-processing: no payload corpus at {FIXTURES}")
    django_setup(bench_environment("codequest_bench_processing", fresh=True))
    from django.db import connection
    from django.db.models import Count

    from integrations.models import WebhookDelivery
    from integrations.services import deliveries_process

    # The repositories exist already (their first deliveries came earlier).
    warm = store(deliveries(REPOSITORIES), "warm")
    deliveries_process(delivery_ids=warm)
    ids = store(deliveries(args.pulls)[REPOSITORIES * 6 :], "bench")
    profile = cProfile.Profile() if args.profile else None
    queries = 0
    kinds: Counter[str] = Counter()
    spent: Counter[str] = Counter()

    def counted(execute, sql, params, many, context):
        nonlocal queries
        queries += 1
        if not args.queries:
            return execute(sql, params, many, context)
        kind = " ".join(sql.split()[:4])[:90]
        if kind.startswith(("SAVEPOINT", "RELEASE SAVEPOINT")):
            kind = kind.split('"')[0]  # one kind, whatever the savepoint's name
        kinds[kind] += 1
        began = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            spent[kind] += time.perf_counter() - began

    cpu = time.process_time()
    started = time.perf_counter()
    with connection.execute_wrapper(counted):
        if profile:
            profile.enable()
        for offset in range(0, len(ids), BATCH):
            deliveries_process(delivery_ids=ids[offset : offset + BATCH])
        if profile:
            profile.disable()
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu
    statuses = dict(
        WebhookDelivery.objects.filter(pk__in=ids)
        .values_list("status")
        .annotate(n=Count("id"))
    )
    print(
        f"{len(ids):,} deliveries in {seconds:.2f} s: {len(ids) / seconds:,.0f}/s, "
        f"{1000 * seconds / len(ids):.2f} ms and "
        f"{queries / len(ids):.1f} queries per delivery, "
        f"{1000 * cpu / len(ids):.2f} ms CPU in this process; "
        f"outcomes {statuses}"
    )
    if kinds:
        print("statements per delivery, ms per delivery (sending and waiting), kind")
    for kind, count in kinds.most_common(40):
        per = 1000 * spent[kind] / len(ids)
        print(f"{count / len(ids):6.2f}  {per:5.2f}  {kind}")
    if profile:
        pstats.Stats(profile).sort_stats(args.sort).print_stats(args.filter, 45)


if __name__ == "__main__":
    main()
