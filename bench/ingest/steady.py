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
    total = int(args.rate * args.seconds)
    interval = 1.0 / args.rate
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    start = time.monotonic() + 0.5

    def worker(index: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=10)
        for n in range(index, total, args.connections):
            scheduled = start + n * interval
            delay = scheduled - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            headers = {
                "Content-Type": "application/json",
                "X-GitHub-Event": "pull_request",
                "X-GitHub-Delivery": f"{args.run_id}-{n}",
                "X-Hub-Signature-256": args.signature,
            }
            try:
                conn.request("POST", "/webhooks/github/", body, headers)
                response = conn.getresponse()
                response.read()
                status = response.status
            except OSError:
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=10)
                status = 0
            elapsed = time.monotonic() - scheduled
            with lock:
                latencies.append(elapsed)
                statuses[status] = statuses.get(status, 0) + 1

    threads = [
        threading.Thread(target=worker, args=(i,)) for i in range(args.connections)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    latencies.sort()
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000
    print(
        f"RESULT requests={len(latencies)} statuses={statuses} "
        f"p50_ms={p50:.2f} p99_ms={p99:.2f} max_ms={latencies[-1] * 1000:.2f}"
    )


if __name__ == "__main__":
    main()
