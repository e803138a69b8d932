"""Open-loop load at a fixed rate (wrk only does closed loop): latency at N/s.

Sends signed deliveries with unique ids at ``--rate`` per second over keep-alive
connections for ``--seconds``; latency is measured from each request's scheduled
start, so a slow server cannot hide its queueing (no coordinated omission).
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import threading
import time

Request = tuple[str, bytes, dict[str, str]]  # (delivery id, body, headers)


def open_loop(
    port: int, requests: list[Request], rate: float, connections: int
) -> tuple[dict[str, tuple[float, float]], dict[int, int]]:
    """Request n is due at start + n / rate; returns, per delivery id, when it
    was due and when its answer came (monotonic), and the status counts."""
    timings: dict[str, tuple[float, float]] = {}
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    start = time.monotonic() + 0.5

    def worker(index: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for n in range(index, len(requests), connections):
            delivery_id, body, headers = requests[n]
            scheduled = start + n / rate
            if (delay := scheduled - time.monotonic()) > 0:
                time.sleep(delay)
            try:
                conn.request("POST", "/webhooks/github/", body, headers)
                response = conn.getresponse()
                response.read()
                status = response.status
            except OSError:
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                status = 0
            with lock:
                timings[delivery_id] = (scheduled, time.monotonic())
                statuses[status] = statuses.get(status, 0) + 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return timings, statuses


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--body", required=True)
    parser.add_argument("--signature", required=True)
    parser.add_argument("--run-id", required=True)
    args = parser.parse_args()
    body = open(args.body, "rb").read()  # noqa: SIM115
    requests = [
        (
            f"{args.run_id}-{n}",
            body,
            {
                "Content-Type": "application/json",
                "X-GitHub-Event": "pull_request",
                "X-GitHub-Delivery": f"{args.run_id}-{n}",
                "X-Hub-Signature-256": args.signature,
            },
        )
        for n in range(int(args.rate * args.seconds))
    ]
    timings, statuses = open_loop(args.port, requests, args.rate, args.connections)
    latencies = sorted(answered - due for due, answered in timings.values())
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000
    print(
        f"RESULT requests={len(latencies)} statuses={statuses} "
        f"p50_ms={p50:.2f} p99_ms={p99:.2f} max_ms={latencies[-1] * 1000:.2f}"
    )


if __name__ == "__main__":
    main()
