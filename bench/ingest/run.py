"""Ingest benchmark: the real receiver against the reference, in the same run.

Usage (from the repository root): ``make bench-ingest`` or
``.venv/bin/python -m bench.ingest.run [--runs 3] [--duration 20]``.

For each round it starts gunicorn (same config for both) with, in turn, the
reference app and the real app, drives each with wrk (closed loop, 32
connections, a signed ~25 KB pull_request body, unique delivery ids), then
counts the stored rows to prove nothing was lost or duplicated. Afterwards it
runs the real receiver at a steady 200 deliveries/s with a Celery worker
processing, and checks every delivery ends processed.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psycopg
from psycopg import sql

from bench.ingest.reference import CREATE_TABLE
from bench.services import bench_environment

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
SECRET = "bench-secret"
PORT = 8101


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--duration", type=int, default=20)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument(
        "--body",
        default=str(ROOT.parent / "shared/fixtures/github/pull_request.opened.1.json"),
    )
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("bench: wrk is not installed (apt-get install wrk)")
    env = prepare_environment()
    body = Path(args.body).read_bytes()
    signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    print(f"body: {args.body} ({len(body)} bytes); {os.cpu_count()} cores")
    results: dict[str, list[dict[str, float]]] = {"reference": [], "receiver": []}
    for round_number in range(1, args.runs + 1):
        for name in ("reference", "receiver"):
            result = closed_loop(name, env, args, signature, round_number)
            results[name].append(result)
            print(f"round {round_number} {name:9s} {format_result(result)}")
    summarize(results)
    steady(env, args, signature)


def prepare_environment() -> dict[str, str]:
    env = bench_environment("codequest_bench")
    env["GITHUB_WEBHOOK_SECRET"] = SECRET
    with psycopg.connect(env["DATABASE_URL"], autocommit=True) as conn:
        conn.execute(CREATE_TABLE)
        conn.execute(
            "ALTER TABLE bench_reference_delivery ALTER COLUMN body SET COMPRESSION lz4"
        )
    return env


def port_in_use() -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", PORT)) == 0


def start_gunicorn(name: str, env: dict[str, str]) -> subprocess.Popen:
    if port_in_use():
        raise SystemExit(f"bench: port {PORT} is busy (another benchmark running?)")
    settings = (
        "bench.ingest.reference_settings"
        if name == "reference"
        else "codequest.settings"
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "codequest.wsgi", "-c", "gunicorn.conf.py"],
        cwd=ROOT,
        env={
            **env,
            "DJANGO_SETTINGS_MODULE": settings,
            "BIND": "127.0.0.1",
            "PORT": str(PORT),
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(
                f"http://127.0.0.1:{PORT}/webhooks/github/", timeout=1
            )
        except urllib.error.HTTPError:
            if process.poll() is not None:
                raise SystemExit(f"bench: gunicorn ({name}) exited") from None
            return process  # any HTTP answer from our own process: it is up
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit(f"bench: gunicorn ({name}) did not start")


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


def run_wrk(env, args, signature, run_id: str, duration: int) -> str:
    return subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{args.connections}",
            f"-d{duration}s",
            "--latency",
            "-s",
            str(HERE / "wrk.lua"),
            f"http://127.0.0.1:{PORT}/webhooks/github/",
        ],
        env={
            **env,
            "BENCH_BODY": args.body,
            "BENCH_SIGNATURE": signature,
            "BENCH_RUN_ID": run_id,
        },
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def closed_loop(name, env, args, signature, round_number) -> dict[str, float]:
    run_id = f"{name}-{round_number}-{int(time.time())}"
    server = start_gunicorn(name, env)
    try:
        # Warm every gunicorn worker (imports, connections) before measuring.
        run_wrk(env, args, signature, f"warm-{run_id}", 2)
        output = run_wrk(env, args, signature, run_id, args.duration)
    finally:
        stop(server)
    result = parse_result(output)
    rows, distinct = count_rows(name, env, run_id)
    result.update(
        rows=rows, duplicates=rows - distinct, lost=max(0, result["ok"] - rows)
    )
    return result


def parse_result(output: str) -> dict[str, float]:
    match = re.search(r"^RESULT (.*)$", output, flags=re.MULTILINE)
    if not match:
        raise SystemExit(f"bench: wrk printed no RESULT line:\n{output}")
    values = dict(pair.split("=") for pair in match.group(1).split())
    parsed = {key: float(value) for key, value in values.items()}
    parsed["ok"] = parsed["requests"] - parsed["non_202"]
    return parsed


TABLES = {
    "reference": "bench_reference_delivery",
    "receiver": "integrations_webhookdelivery",
}


def count_rows(name: str, env: dict[str, str], run_id: str) -> tuple[int, int]:
    """(rows, distinct delivery ids) stored for one run."""
    query = sql.SQL(
        "SELECT count(*), count(DISTINCT delivery_id) FROM {} WHERE delivery_id LIKE %s"
    ).format(sql.Identifier(TABLES[name]))
    with psycopg.connect(env["DATABASE_URL"]) as conn:
        rows, distinct = conn.execute(query, [f"{run_id}-%"]).fetchone()
    return rows, distinct


def format_result(result: dict[str, float]) -> str:
    return (
        f"{result['rps']:8.1f} deliveries/s  p50 {result['p50_ms']:6.1f} ms  "
        f"p99 {result['p99_ms']:6.1f} ms  202s {int(result['ok'])}  "
        f"rows {int(result['rows'])}  "
        f"lost {int(result['lost'])}  duplicated {int(result['duplicates'])}  "
        f"non-202 {int(result['non_202'])}"
    )


def summarize(results: dict[str, list[dict[str, float]]]) -> None:
    reference = statistics.median(r["rps"] for r in results["reference"])
    receiver = statistics.median(r["rps"] for r in results["receiver"])
    ratios = [
        real["rps"] / ref["rps"]
        for ref, real in zip(results["reference"], results["receiver"], strict=True)
    ]
    print(
        f"median: reference {reference:.1f}/s, receiver {receiver:.1f}/s, "
        f"receiver/reference {receiver / reference:.0%} "
        f"(per round: {', '.join(f'{ratio:.0%}' for ratio in ratios)})"
    )


def steady(env: dict[str, str], args, signature: str) -> None:
    run_id = f"steady-{int(time.time())}"
    server = start_gunicorn("receiver", env)
    run_wrk(env, args, signature, f"warm-{run_id}", 2)
    # Drop the earlier rounds' queued messages: only this phase is measured.
    subprocess.run(
        [sys.executable, "-m", "celery", "-A", "codequest", "purge", "-f"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        check=True,
    )
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "codequest",
            "worker",
            "-l",
            "warning",
            "-c",
            "1",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        output = subprocess.run(
            [
                sys.executable,
                str(HERE / "steady.py"),
                "--port",
                str(PORT),
                "--rate",
                str(args.rate),
                "--seconds",
                str(args.duration),
                "--body",
                args.body,
                "--signature",
                signature,
                "--run-id",
                run_id,
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        figures = output.strip().removeprefix("RESULT ")
        print(f"steady {args.rate:.0f}/s receiver: {figures}")
        rows, distinct = count_rows("receiver", env, run_id)
        processed_in = wait_processed(env, run_id, rows)
        print(
            f"steady rows {rows}, duplicated {rows - distinct}; "
            f"all processed {processed_in:.1f} s after the last request"
        )
    finally:
        stop(worker)
        stop(server)


def wait_processed(
    env: dict[str, str], run_id: str, rows: int, timeout: float = 300
) -> float:
    """Seconds until every delivery of the run is processed by the worker."""
    started = time.monotonic()
    with psycopg.connect(env["DATABASE_URL"], autocommit=True) as conn:
        while time.monotonic() - started < timeout:
            (done,) = conn.execute(
                "SELECT count(*) FROM integrations_webhookdelivery "
                "WHERE delivery_id LIKE %s AND status = 'processed'",
                [f"{run_id}-%"],
            ).fetchone()
            if done >= rows:
                return time.monotonic() - started
            time.sleep(1)
    raise SystemExit(f"bench: only {done}/{rows} processed after {timeout} s")


if __name__ == "__main__":
    main()
