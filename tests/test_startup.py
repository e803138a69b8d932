"""A missing or malformed setting stops start-up with one line naming it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run_check(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    base = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "SECRET_KEY", "CODEQUEST_ENCRYPTION_KEYS"}
    }
    base["CODEQUEST_VAR_DIR"] = str(tmp_path)
    base.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=base,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_development_defaults_need_no_configuration(tmp_path):
    result = run_check(tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "secret_key").exists()
    assert (tmp_path / "codequest_encryption_keys").exists()


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"CODEQUEST_ENCRYPTION_KEYS": "too-short"}, "CODEQUEST_ENCRYPTION_KEYS"),
        ({"PUBLIC_URL": "not a url"}, "PUBLIC_URL"),
        ({"GITLAB_URL": "ftp://gitlab.example.com"}, "GITLAB_URL"),
        ({"DJANGO_DEBUG": "maybe"}, "DJANGO_DEBUG"),
        ({"DJANGO_SECURE_HSTS_SECONDS": "a year"}, "DJANGO_SECURE_HSTS_SECONDS"),
        (
            {"DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS": "sure"},
            "DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS",
        ),
        ({"DATABASE_URL": "postgres://db/x"}, "SECRET_KEY"),
        ({"GITHUB_APP_ID": "my-app"}, "GITHUB_APP_ID"),
        ({"EMAIL_URL": "smtp://mail.example.com:587?tls=maybe"}, "EMAIL_URL"),
        ({"EMAIL_URL": "pigeon://mail.example.com"}, "EMAIL_URL"),
        ({"GITHUB_APP_PRIVATE_KEY": "not a key"}, "GITHUB_APP_PRIVATE_KEY"),
        ({"GITHUB_APP_PRIVATE_KEY": "@/nonexistent/key.pem"}, "GITHUB_APP_PRIVATE_KEY"),
    ],
)
def test_bad_setting_fails_with_one_line(tmp_path, env, variable):
    result = run_check(tmp_path, **env)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("CodeQuest configuration error: ")
    assert variable in lines[0]
    assert "Traceback" not in result.stderr


def test_public_url_follows_port_when_unset(tmp_path):
    env = {
        "PATH": "/usr/bin:/bin",
        "PORT": "8123",
        "CODEQUEST_VAR_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "codequest.settings",
    }
    code = "from django.conf import settings; print(settings.PUBLIC_URL)"
    shown = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()
    assert shown == "http://127.0.0.1:8123"
