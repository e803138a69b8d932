"""First run: `make run` prints one line once the site answers, with its
address, the admin user and the webhook URLs to give the providers."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import time
from io import StringIO
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from tests.conftest import ROOT
from tests.live import free_port


def ready_line(*args: str) -> str:
    out = StringIO()
    call_command("ready_line", *args, stdout=out)
    return out.getvalue().strip()


@pytest.mark.django_db
def test_the_line_names_the_site_the_admin_and_the_webhook_urls(settings, monkeypatch):
    monkeypatch.setenv("PORT", "8123")
    monkeypatch.setenv("DJANGO_SUPERUSER_USERNAME", "")
    settings.PUBLIC_URL = "https://cq.example.com"
    settings.GITLAB_WEBHOOK_SECRET = ""
    get_user_model().objects.create_superuser("alice", "a@example.com", "pw")
    assert ready_line() == (
        "CodeQuest Rewards is ready at http://127.0.0.1:8123/ · admin alice at "
        "http://127.0.0.1:8123/admin/ · webhook URLs: GitHub "
        "https://cq.example.com/webhooks/github/, GitLab "
        "https://cq.example.com/webhooks/gitlab/ (set GITLAB_WEBHOOK_SECRET)"
    )


@pytest.mark.django_db
def test_without_an_admin_it_says_how_to_get_one(monkeypatch):
    monkeypatch.delenv("DJANGO_SUPERUSER_USERNAME", raising=False)
    assert "no admin user yet (set DJANGO_SUPERUSER_USERNAME and" in ready_line()


@pytest.mark.django_db
def test_waiting_for_a_site_that_never_answers_is_one_error_line(monkeypatch):
    monkeypatch.setenv("PORT", str(free_port()))
    with pytest.raises(CommandError, match=r"did not answer within 1\.0s"):
        ready_line("--wait", "--timeout", "1")


def test_make_run_prints_it_once_the_web_answers(tmp_path):
    """The real first run: SQLite and the file broker under a fresh var dir."""
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "CELERY_BROKER_URL", "SECRET_KEY"}
        and not key.startswith(("CODEQUEST_", "PYTEST", "DJANGO_"))
    }
    env.update(
        CODEQUEST_VAR_DIR=str(tmp_path),
        DJANGO_SUPERUSER_USERNAME="alice",
        DJANGO_SUPERUSER_PASSWORD="correct-horse-battery",
        PORT=str(port),
    )
    process = subprocess.Popen(
        ["make", "--no-print-directory", "run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        line = _wait_for(process, "CodeQuest Rewards is ready at", seconds=120)
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
    site = f"http://127.0.0.1:{port}"
    assert f"ready at {site}/ · admin alice at {site}/admin/" in line
    assert f"GitHub {site}/webhooks/github/" in line  # PUBLIC_URL follows PORT
    assert urlsplit(site).port == port


def _wait_for(process: subprocess.Popen, text: str, *, seconds: float) -> str:
    """The first output line containing ``text``; the whole output if it never came."""
    seen: list[str] = []
    watch = selectors.DefaultSelector()
    assert process.stdout is not None
    watch.register(process.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not watch.select(timeout=1):
            continue
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            break
        seen.append(line)
        if text in line:
            return line
    raise AssertionError("no ready line; output was:\n" + "".join(seen[-40:]))
