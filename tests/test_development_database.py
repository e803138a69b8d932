"""`make run` uses SQLite by default: every page and list must work there too.

The suite runs on PostgreSQL; this test migrates a fresh SQLite file in a
subprocess, seeds one of everything and requests each dashboard page, API
list and operator admin page, so a PostgreSQL-only query cannot slip in.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = """
from datetime import timedelta
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone
from integrations.models import (
    ConnectedRepository, IntegrationHealth, Organization, OrganizationMembership,
    RateLimitSample, SyncRun,
)
from reviews.models import Member, ProviderIdentity, PullRequest, Review, ReviewRequest
from rewards.models import PointsEntry, Season
from rewards.services import rule_get

settings.ALLOWED_HOSTS = ["testserver"]
now = timezone.now()
user = get_user_model().objects.create_superuser("dev", "dev@example.com", "pw")
team = Organization.objects.create(name="Core", slug="core")
OrganizationMembership.objects.create(organization=team, user=user, role="admin")
member = Member.objects.create(display_name="Dev", user=user)
me = ProviderIdentity.objects.create(
    provider="github", host="github.com", login="dev", member=member
)
repo = ConnectedRepository.objects.create(
    organization=team, provider="github", host="github.com", external_id=1,
    full_name="acme/shop",
)
pull = PullRequest.objects.create(
    repository=repo, number=1, state="open", author_login="kim",
    provider_created_at=now - timedelta(days=2), requested_reviewers=["dev"],
)
merged = PullRequest.objects.create(
    repository=repo, number=2, state="merged", author_login="kim",
    provider_created_at=now - timedelta(days=3), merged_at=now - timedelta(days=1),
)
Review.objects.create(
    pull_request=merged, external_id="1", reviewer_login="dev", state="approved",
    submitted_at=now - timedelta(days=2),
)
ReviewRequest.objects.create(
    pull_request=pull, reviewer_login="dev", requested_at=now - timedelta(days=1)
)
PointsEntry.objects.create(
    identity=me, rule=rule_get("review_session"), rule_version=1, points=10,
    reason="reviewed", source="s", pull_request=merged, earned_at=now,
)
Season.objects.create(
    organization=team, name="Q4", starts_at=now - timedelta(days=5),
    ends_at=now + timedelta(days=5),
)
SyncRun.objects.create(
    repository=repo, kind="incremental", status="succeeded", started_at=now
)
IntegrationHealth.objects.create(repository=repo, status="healthy", checked_at=now)
RateLimitSample.objects.create(
    provider="github", host="github.com", token_fingerprint="abc", limit=5000,
    remaining=4000, sampled_at=now,
)
client = Client()
client.force_login(user)
for url in [
    "/dashboard/", "/dashboard/queue/", "/dashboard/leaderboard/?period=all",
    "/dashboard/leaderboard/?period=season", "/dashboard/points/",
    "/dashboard/stats/", "/dashboard/settings/", "/api/v1/pulls/",
    "/api/v1/reviews/", "/api/v1/leaderboard/", "/api/v1/points/",
    "/api/v1/sync-history/", "/api/v1/rate-limits/", "/api/v1/deliveries/",
    "/admin/integrations/syncrun/", "/admin/integrations/integrationhealth/",
    "/admin/integrations/ratelimitsample/", "/admin/rewards/pointsentry/",
]:
    print(url, client.get(url).status_code)
"""


def test_every_page_works_on_the_development_database(tmp_path):
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL"}
    }
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'dev.sqlite3'}",
        CODEQUEST_VAR_DIR=str(tmp_path),
    )

    def manage(*args: str) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert result.returncode == 0, result.stderr[-2000:]
        return result.stdout

    manage("migrate", "--noinput", "-v0")
    output = manage("shell", "-c", SCRIPT)
    answers = dict(
        line.rsplit(" ", 1) for line in output.splitlines() if line.startswith("/")
    )
    assert len(answers) == 18
    assert {url: code for url, code in answers.items() if code != "200"} == {}
