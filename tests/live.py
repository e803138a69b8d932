"""A running instance for the tests that need one: a private Redis, the
Procfile's web (gunicorn) and worker (Celery) processes, on loopback, against
the test database. Used for broker outages, slow clients and raw HTTP."""

from __future__ import annotations

import os
import shlex
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings

from tests.conftest import GITHUB_SECRET, GITLAB_SECRET, ROOT

BIN = Path(ROOT) / ".venv" / "bin"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def procfile(name: str) -> list[str]:
    """The Procfile's command for ``name``: the tests run what production runs."""
    for line in (Path(ROOT) / "Procfile").read_text().splitlines():
        key, _, command = line.partition(":")
        if key.strip() == name:
            return shlex.split(command)
    raise KeyError(name)


class Redis:
    """A throw-away redis-server that a test may stop and start again."""

    def __init__(self, logfile: Path | None = None) -> None:
        self.port = free_port()
        self.logfile = logfile
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--logfile",
                str(self.logfile or ""),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port)

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None


def wait_for_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on port {port}")


def wait_for_workers(stack: Stack, timeout: float) -> None:
    """Until every gunicorn worker has loaded Django (gunicorn.conf.py logs
    "worker ready"): the master listens at once, while a worker still booting
    takes no connection and would make the first seconds look like a stall."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        log = stack.log("web")
        booted = log.count("Booting worker with pid")
        if booted and log.count("worker ready (pid") >= booted:
            return
        time.sleep(0.1)
    raise TimeoutError("gunicorn workers did not finish booting")


def stack_environment(redis: Redis, web_port: int) -> dict[str, str]:
    database = settings.DATABASES["default"]
    url = (
        f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/"
        f"{database['NAME']}"
    )
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTEST", "DJANGO_SETTINGS"))
    }
    env.update(
        {
            "PATH": f"{BIN}:{env.get('PATH', '')}",
            "DATABASE_URL": url,
            "CELERY_BROKER_URL": redis.url,
            "GITHUB_WEBHOOK_SECRET": GITHUB_SECRET,
            "GITLAB_WEBHOOK_SECRET": GITLAB_SECRET,
            "BIND": "127.0.0.1",
            "PORT": str(web_port),
            "WEB_CONCURRENCY": "2",
            "WEB_ACCESS_LOG": "0",
            "CODEQUEST_DISPATCH_MAX_DELAY": "0",  # a message per delivery
            "CODEQUEST_SWEEP_AFTER_SECONDS": "1",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.pop("CACHE_URL", None)
    return env


@contextmanager
def running(process: str, env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    """One Procfile process, stopped (and its children) when the block ends."""
    with log.open("w") as output:
        child = subprocess.Popen(
            procfile(process),
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            yield child
        finally:
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGTERM)
                try:
                    child.wait(20)
                except subprocess.TimeoutExpired:
                    os.killpg(child.pid, signal.SIGKILL)
                    child.wait(5)


class Stack:
    def __init__(self, redis: Redis, web_port: int, logs: Path) -> None:
        self.redis = redis
        self.web_port = web_port
        self.logs = logs
        self.processes: dict[str, subprocess.Popen] = {}

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")

    def alive(self, name: str) -> bool:
        return self.processes[name].poll() is None


@contextmanager
def live_stack(*processes: str, **overrides: str) -> Iterator[Stack]:
    """Redis plus the named Procfile processes ("web", "worker"); ``overrides``
    are environment variables (a value of "" removes one)."""
    logs = Path(tempfile.mkdtemp(prefix="codequest-live-"))
    redis = Redis(logs / "redis.log")
    redis.start()
    stack = Stack(redis, free_port(), logs)
    env = stack_environment(redis, stack.web_port)
    for key, value in overrides.items():
        if value:
            env[key] = value
        else:
            env.pop(key, None)
    try:
        with _all_running(processes, env, stack):
            if "web" in processes:
                wait_for_port(stack.web_port, timeout=60)
                wait_for_workers(stack, timeout=60)
            yield stack
    finally:
        redis.stop()


@contextmanager
def _all_running(names: tuple[str, ...], env: dict[str, str], stack: Stack):
    if not names:
        yield
        return
    first, *rest = names
    with running(first, env, stack.logs / f"{first}.log") as child:
        stack.processes[first] = child
        with _all_running(tuple(rest), env, stack):
            yield
