"""Shared by the benchmarks: PostgreSQL and Redis on loopback, a bench database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
ENCRYPTION_KEY = "k8Vq0mT3v6Jt1yXk9d2r5w8z0c3f6h9j2m5p8s1u4x7"


def bench_environment(database: str, *, fresh: bool = False) -> dict[str, str]:
    """Start the test services, create ``database``, migrate it; the env to use.

    ``fresh`` drops the database first, so a benchmark starts from nothing.
    """
    lines = subprocess.run(
        [ROOT / "scripts/test-services.sh"], capture_output=True, text=True, check=True
    ).stdout.split()
    env = dict(os.environ)
    env.update(line.split("=", 1) for line in lines if "=" in line)
    server = env["DATABASE_URL"].rsplit("/", 1)[0]
    env["DATABASE_URL"] = f"{server}/{database}"
    env.update(
        SECRET_KEY="bench-secret-key",
        CODEQUEST_ENCRYPTION_KEYS=ENCRYPTION_KEY,
        WEB_ACCESS_LOG="0",
        LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
    )
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        if fresh:
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        if not admin.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (database,)
        ).fetchone():
            admin.execute(f'CREATE DATABASE "{database}"')
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True
    )
    return env


def django_setup(env: dict[str, str]) -> None:
    """Use ``env`` in this process and set Django up against it."""
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "codequest.settings")
    import django

    django.setup()
