"""Delivery to alert: how long after a review request's delivery is due does
the person's email leave, with the realistic mix at a steady rate.

``.venv/bin/python -m bench.notifications.alerts [--rate 50] [--seconds 20]``

The receiver (gunicorn) and one Celery worker with two processes, as
``bench.processing.steady`` runs them, on a fresh database
(``codequest_bench_alerts``), mail through Django's dummy backend
(``EMAIL_URL=dummymail://``: everything up to the SMTP conversation). The mix
of ``bench.processing.run``, where each pull request is opened asking one of
50 linked people (someone else reviews it, so the request stays open). A
latency runs from the moment the opened delivery was due to the moment its
email was marked sent (``Notification.sent_at``).
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import UTC, datetime, timedelta

from bench.ingest.run import PORT, start_gunicorn, stop
from bench.ingest.steady import open_loop
from bench.processing.run import REPOSITORIES, deliveries
from bench.processing.steady import SECRET, signed, start_worker
from bench.services import bench_environment, django_setup

PEOPLE = 50


def mix_with_requests(pulls: int) -> tuple[list, dict[tuple[str, int], int]]:
    """The mix, each opened pull request asking a linked person; and where
    each opened delivery sits in it, by (repository, number)."""
    mix = deliveries(pulls)
    opened_at: dict[tuple[str, int], int] = {}
    now = datetime.now(UTC)
    for index, (event, payload) in enumerate(mix):
        pull = payload.get("pull_request")
        if event != "pull_request" or pull is None:
            continue
        asked = {
            "login": f"asked{pull['number'] % PEOPLE}",
            "id": 60_000 + pull["number"] % PEOPLE,
            "type": "User",
        }
        pull["requested_reviewers"] = [asked]
        if payload.get("action") == "opened":
            # Asked a moment ago, so the request is news.
            pull["updated_at"] = (now - timedelta(minutes=1)).strftime(
                "%Y-%m-%dT%H:%M:%SZ"
            )
            opened_at[(payload["repository"]["full_name"], pull["number"])] = index
    return mix, opened_at


def seed_people() -> None:
    from django.contrib.auth import get_user_model

    from notifications.models import NotificationSettings
    from reviews.models import Member, ProviderIdentity

    User = get_user_model()
    users = User.objects.bulk_create(
        User(username=f"asked{n}", email=f"asked{n}@example.com") for n in range(PEOPLE)
    )
    members = Member.objects.bulk_create(
        Member(display_name=user.username, user=user) for user in users
    )
    ProviderIdentity.objects.bulk_create(
        ProviderIdentity(
            provider="github", host="github.com", login=f"asked{n}", member=member
        )
        for n, member in enumerate(members)
    )
    NotificationSettings.objects.bulk_create(
        NotificationSettings(user=user, quiet_outside_working_hours=False)
        for user in users
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=50)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--drain", type=float, default=60)
    args = parser.parse_args()
    env = bench_environment("codequest_bench_alerts", fresh=True)
    env.update(GITHUB_WEBHOOK_SECRET=SECRET, EMAIL_URL="dummymail://")
    django_setup(env)
    from notifications.models import Notification
    from reviews.models import ReviewRequest

    seed_people()
    pulls = max(REPOSITORIES, int(args.rate * args.seconds / 6))
    mix, opened_at = mix_with_requests(REPOSITORIES + pulls)
    server = start_gunicorn("receiver", env)
    worker = start_worker(env, args.processes)
    try:
        stamp = int(time.time())
        open_loop(
            PORT,
            signed(mix[: REPOSITORIES * 6], f"warm-{stamp}"),
            args.rate,
            args.connections,
        )
        time.sleep(3)
        Notification.objects.all().delete()  # the warm-up's own alerts
        steady = mix[REPOSITORIES * 6 :]
        run_id = f"steady-{stamp}"
        wall_minus_mono = time.time() - time.monotonic()
        timings, statuses = open_loop(
            PORT, signed(steady, run_id), args.rate, args.connections
        )
        time.sleep(args.drain if args.drain < 10 else 10)
    finally:
        stop(worker)
        stop(server)
    due = {key: scheduled for key, (scheduled, _) in timings.items()}
    latencies = []
    for note in Notification.objects.filter(channel="email", status="sent"):
        request_pk = int(note.key.split(":")[1])
        request = ReviewRequest.objects.select_related("pull_request__repository").get(
            pk=request_pk
        )
        pull = request.pull_request
        index = opened_at.get((pull.repository.full_name, pull.number))
        if index is None or index < REPOSITORIES * 6:
            continue
        delivery = f"{run_id}-{index - REPOSITORIES * 6}"
        if delivery in due:
            sent = note.sent_at.timestamp() - wall_minus_mono
            latencies.append(sent - due[delivery])
    latencies.sort()
    expected = sum(1 for key, index in opened_at.items() if index >= REPOSITORIES * 6)
    if not latencies:
        raise SystemExit("bench-alerts: no alert was sent")
    p95 = latencies[int(len(latencies) * 0.95) - 1]
    print(
        f"{sum(statuses.values()):,} deliveries at {args.rate:.0f}/s over "
        f"{args.seconds:.0f} s; {len(latencies)} of {expected} review requests "
        f"emailed\ndelivery -> email sent: p50 {statistics.median(latencies):.2f} s, "
        f"p95 {p95:.2f} s, max {latencies[-1]:.2f} s"
    )


if __name__ == "__main__":
    main()
