"""Shared fixtures: real PostgreSQL, signed webhook posts, the payload corpora."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

ROOT = Path(__file__).resolve().parents[1]
SHARED_FIXTURES = Path(
    os.environ.get("CODEQUEST_SHARED_FIXTURES", ROOT.parent / "shared" / "fixtures")
)
OCTOKIT_INDEX = (
    ROOT / "var/node/node_modules/@octokit/webhooks-examples/api.github.com/index.json"
)
GITHUB_SECRET = "test-github-secret"
GITLAB_SECRET = "test-gitlab-secret"


def pytest_configure(config: pytest.Config) -> None:
    from django.conf import settings

    engine = settings.DATABASES["default"]["ENGINE"]
    if engine != "django.db.backends.postgresql":
        pytest.exit(
            "the suite runs against PostgreSQL: use `make test` "
            "(or set DATABASE_URL to a PostgreSQL server)",
            returncode=2,
        )


@pytest.fixture(autouse=True)
def _webhook_settings(settings: Any) -> None:
    settings.GITHUB_WEBHOOK_SECRET = GITHUB_SECRET
    settings.GITLAB_WEBHOOK_SECRET = GITLAB_SECRET
    settings.WEBHOOK_DISPATCH_MAX_DELAY = 0
    # Password hashing is deliberately slow; tests do not need that.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    """Each test starts with an empty cache: no ETags, teams or open circuits."""
    from django.core.cache import cache

    from integrations.providers import circuit

    cache.clear()
    circuit._local.clear()


@pytest.fixture(autouse=True)
def _fresh_receiver_guard() -> Any:
    """Each test starts with full failure budgets and no allow-list read."""
    from integrations.receiver_guard import guard_reset

    guard_reset()
    yield
    guard_reset()


# --- payload corpora -----------------------------------------------------------


def corpus_cases(provider: str) -> list[tuple[str, str, str]]:
    """(file name, event header, action) for every file PROVENANCE.md lists.

    Missing corpus: a failure under CI=true, a skip with the reason elsewhere.
    """
    provenance = SHARED_FIXTURES / provider / "PROVENANCE.md"
    if not provenance.exists():
        if os.environ.get("CI") == "true":
            raise RuntimeError(f"payload corpus missing under CI: {provenance}")
        return []
    rows = re.findall(
        r"^\| `([^`]+\.json)` \| `([^`]+)` \| `([^`]+)` \|",
        provenance.read_text(),
        flags=re.MULTILINE,
    )
    files = {path.name for path in (SHARED_FIXTURES / provider).glob("*.json")}
    listed = {row[0] for row in rows}
    if files != listed:
        raise RuntimeError(
            f"{provider} corpus and PROVENANCE.md disagree: {files ^ listed}"
        )
    return sorted(rows)


def corpus_params(provider: str) -> list[Any]:
    cases = corpus_cases(provider)
    if not cases:
        return [
            pytest.param(
                None,
                None,
                None,
                marks=pytest.mark.skip(reason=f"{SHARED_FIXTURES} not found"),
            )
        ]
    return [pytest.param(*case, id=case[0]) for case in cases]


def load_payload(provider: str, name: str) -> dict[str, Any]:
    return json.loads((SHARED_FIXTURES / provider / name).read_text())


def octokit_examples() -> dict[str, list[dict[str, Any]]]:
    """``@octokit/webhooks-examples`` (installed by make test): event -> payloads."""
    if not OCTOKIT_INDEX.exists():
        return {}
    return {
        entry["name"]: entry["examples"]
        for entry in json.loads(OCTOKIT_INDEX.read_text())
    }


# --- posting webhooks ----------------------------------------------------------


def github_signature(body: bytes, secret: str = GITHUB_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def standard_webhook_headers(
    body: bytes, secret: str, *, at: float | None = None
) -> dict[str, str]:
    message_id = f"msg_{uuid.uuid4().hex}"
    timestamp = str(int(at if at is not None else time.time()))
    signed = f"{message_id}.{timestamp}.".encode() + body
    key = secret.encode()
    digest = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return {
        "webhook-id": message_id,
        "webhook-timestamp": timestamp,
        "webhook-signature": f"v1,{digest}",
    }


def post_webhook(
    client: Any,
    provider: str,
    payload: Any,
    event: str,
    *,
    delivery: str | None = None,
    secret: str | None = None,
    hook: str | None = None,
    body: bytes | None = None,
    content_type: str = "application/json",
    extra_headers: dict[str, str] | None = None,
) -> Any:
    """POST a payload the way the provider would, signed with the test secret."""
    raw = body if body is not None else json.dumps(payload).encode()
    delivery = delivery or str(uuid.uuid4())
    url = f"/webhooks/{provider}/" + (f"{hook}/" if hook else "")
    if provider == "github":
        headers = {
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": delivery,
            "X-Hub-Signature-256": github_signature(raw, secret or GITHUB_SECRET),
        }
    else:
        headers = {
            "X-Gitlab-Event": event,
            "X-Gitlab-Token": secret or GITLAB_SECRET,
            "Idempotency-Key": delivery,
        }
    headers.update(extra_headers or {})
    # CONTENT_TYPE is also passed in the environ: the test client drops it for an
    # empty body, which a provider would still send.
    return client.generic(
        "POST",
        url,
        raw,
        content_type=content_type,
        headers=headers,
        CONTENT_TYPE=content_type,
    )


# --- API clients ---------------------------------------------------------------


@pytest.fixture
def superuser(db: Any) -> Any:
    return get_user_model().objects.create_superuser("root", "root@example.com", "pw")


@pytest.fixture
def api(superuser: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(superuser)
    return client


@pytest.fixture
def team_admin(client):
    """A signed-in admin of the team ``core``; returns the team."""
    from integrations.models import Organization, OrganizationMembership

    user = get_user_model().objects.create_user("lead", password="pw")
    team = Organization.objects.create(name="Core", slug="core")
    OrganizationMembership.objects.create(organization=team, user=user, role="admin")
    client.force_login(user)
    return team


@pytest.fixture
def eager_celery() -> Any:
    """Run Celery tasks in the calling process (no broker) for one test."""
    from codequest.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield app
    app.conf.task_always_eager = previous
