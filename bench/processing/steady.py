"""Delivery to visible: the realistic mix at a steady rate, two worker processes.

Usage (from the repository root): ``make bench-steady`` or
``.venv/bin/python -m bench.processing.steady [--rate 200] [--seconds 20]``.

Starts the real receiver (gunicorn, as ``make run`` does) and one Celery
worker with two processes (``-c 2``) against a fresh database
(``codequest_bench_steady``), sends the mix of ``bench.processing.run``
(opened, push, review, inline comment, conversation comment, merge for each
pull request), signed, open loop at ``--rate`` deliveries per second, and
watches the table from a separate connection every 25 ms. A delivery's
latency runs from the moment its request was due to the moment its outcome is
committed, that is readable by the API; so a receiver or worker that falls
behind shows as latency, not as a lower send rate.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import statistics
import subprocess
import sys
import threading
import time

import psycopg

from bench.ingest.run import PORT, start_gunicorn, stop
from bench.ingest.steady import Request, open_loop
from bench.processing.run import FIXTURES, REPOSITORIES, deliveries
from bench.services import ROOT, bench_environment

SECRET = "bench-secret"
POLL_SECONDS = 0.025


def signed(mix: list[tuple[str, dict]], run_id: str) -> list[Request]:
    """(delivery id, body, headers) for each delivery, ready to send."""
    requests = []
    for index, (event, payload) in enumerate(mix):
        body = json.dumps(payload).encode()
        digest = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        delivery_id = f"{run_id}-{index}"
        requests.append(
            (
                delivery_id,
                body,
                {
                    "Content-Type": "application/json",
                    "X-GitHub-Event": event,
                    "X-GitHub-Delivery": delivery_id,
                    "X-Hub-Signature-256": f"sha256={digest}",
                },
            )
        )
    return requests


class Watcher(threading.Thread):
    """Notes when each delivery of the run is first seen with an outcome."""

    def __init__(self, database_url: str, run_id: str, expected: int) -> None:
        super().__init__(daemon=True)
        self.database_url, self.run_id, self.expected = database_url, run_id, expected
        self.seen: dict[str, float] = {}
        self.outcomes: dict[str, int] = {}
        self.done = threading.Event()

    def run(self) -> None:
        last_id = 0
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            while len(self.seen) < self.expected and not self.done.is_set():
                # First where the pending rows begin, then the outcomes: a row
                # below that point had its outcome before the second read.
                next_id = self._first_pending(conn, last_id)
                rows = conn.execute(
                    "SELECT id, delivery_id, status FROM integrations_webhookdelivery "
                    "WHERE id > %s AND delivery_id LIKE %s AND status <> 'pending'",
                    [last_id, f"{self.run_id}-%"],
                ).fetchall()
                now = time.monotonic()
                for _pk, delivery_id, status in rows:
                    if delivery_id not in self.seen:
                        self.seen[delivery_id] = now
                        self.outcomes[status] = self.outcomes.get(status, 0) + 1
                last_id = next_id
                time.sleep(POLL_SECONDS)
        self.done.set()

    def _first_pending(self, conn, last_id: int) -> int:
        """Rows below the first pending one of the run need no second look."""
        (first,) = conn.execute(
            "SELECT min(id) FROM integrations_webhookdelivery "
            "WHERE id > %s AND delivery_id LIKE %s AND status = 'pending'",
            [last_id, f"{self.run_id}-%"],
        ).fetchone()
        return (first - 1) if first is not None else last_id


def start_worker(env: dict[str, str], processes: int) -> subprocess.Popen:
    command = [sys.executable, "-m", "celery", "-A", "codequest", "worker"]
    log = open(os.environ.get("BENCH_WORKER_LOG", os.devnull), "w")  # noqa: SIM115
    return subprocess.Popen(
        [*command, "-l", os.environ.get("BENCH_WORKER_LEVEL", "warning")]
        + ["-c", str(processes)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=log,
    )


def run_phase(
    env: dict[str, str],
    mix: list[tuple[str, dict]],
    run_id: str,
    args: argparse.Namespace,
) -> tuple[list[float], dict[int, int], dict[str, int], float]:
    requests = signed(mix, run_id)
    watcher = Watcher(env["DATABASE_URL"], run_id, len(requests))
    watcher.start()
    timings, statuses = open_loop(PORT, requests, args.rate, args.connections)
    due = {key: scheduled for key, (scheduled, _answered) in timings.items()}
    sent_at = time.monotonic()
    watcher.join(timeout=args.drain)
    watcher.done.set()
    latencies = sorted(
        watcher.seen[key] - due[key] for key in watcher.seen if key in due
    )
    drained = (max(watcher.seen.values()) - sent_at) if watcher.seen else float("nan")
    return latencies, statuses, watcher.outcomes, drained


def percentile(values: list[float], share: float) -> float:
    return values[min(len(values) - 1, int(len(values) * share))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--drain", type=float, default=600, help="seconds to wait")
    args = parser.parse_args()
    if not FIXTURES.exists():
        raise SystemExit(f"bench-steady: no payload corpus at {FIXTURES}")
    env = bench_environment("codequest_bench_steady", fresh=True)
    env["GITHUB_WEBHOOK_SECRET"] = SECRET
    pulls = max(REPOSITORIES, int(args.rate * args.seconds / 6))
    mix = deliveries(REPOSITORIES + pulls)
    server = start_gunicorn("receiver", env)
    worker = start_worker(env, args.processes)
    try:
        stamp = int(time.time())
        # The repositories exist already (their first deliveries came earlier).
        run_phase(env, mix[: REPOSITORIES * 6], f"warm-{stamp}", args)
        latencies, statuses, outcomes, drained = run_phase(
            env, mix[REPOSITORIES * 6 :], f"steady-{stamp}", args
        )
    finally:
        stop(worker)
        stop(server)
    if not latencies:
        raise SystemExit("bench-steady: no delivery was processed")
    print(
        f"{sum(statuses.values()):,} deliveries at {args.rate:.0f}/s over "
        f"{args.seconds:.0f} s, {args.processes} worker processes; answers "
        f"{statuses}; outcomes {outcomes}\n"
        f"delivery -> visible: p50 {1000 * statistics.median(latencies):,.0f} ms, "
        f"p95 {1000 * percentile(latencies, 0.95):,.0f} ms, "
        f"p99 {1000 * percentile(latencies, 0.99):,.0f} ms, "
        f"max {1000 * latencies[-1]:,.0f} ms; "
        f"last outcome {drained:.1f} s after the last request"
    )


if __name__ == "__main__":
    main()
