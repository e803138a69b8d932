"""Daily digests for many people: time and statements.

``.venv/bin/python -m bench.digests.run [--people 1000]``: a fresh database
(``codequest_bench_digests``) with that many people in 20 teams, each with a
linked login, working day starting now in their zone (half in UTC, half an
hour ahead), three requests waiting and one pull request of their own; then
``daily_digests_prepare`` once, timed and counted.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime, timedelta

from bench.services import bench_environment, django_setup


def seed(people: int, now: datetime) -> None:
    from django.contrib.auth import get_user_model

    from integrations.models import (
        ConnectedRepository,
        Organization,
        OrganizationMembership,
    )
    from reviews.models import (
        Member,
        ProviderIdentity,
        PullRequest,
        ReviewerProfile,
        ReviewRequest,
    )

    User = get_user_model()
    teams = Organization.objects.bulk_create(
        Organization(name=f"Team {n}", slug=f"team-{n}") for n in range(20)
    )
    repositories = ConnectedRepository.objects.bulk_create(
        ConnectedRepository(
            organization=teams[n % 20],
            provider="github",
            host="github.com",
            external_id=10_000 + n,
            full_name=f"team-{n % 20}/repo-{n}",
        )
        for n in range(60)
    )
    users = User.objects.bulk_create(
        User(username=f"dev{n}", email=f"dev{n}@example.com") for n in range(people)
    )
    OrganizationMembership.objects.bulk_create(
        OrganizationMembership(organization=teams[n % 20], user=user)
        for n, user in enumerate(users)
    )
    members = Member.objects.bulk_create(
        Member(display_name=user.username, user=user) for user in users
    )
    identities = ProviderIdentity.objects.bulk_create(
        ProviderIdentity(
            provider="github", host="github.com", login=f"dev{n}", member=member
        )
        for n, member in enumerate(members)
    )
    ReviewerProfile.objects.bulk_create(
        ReviewerProfile(
            identity=identity,
            timezone="UTC" if n % 2 == 0 else "Etc/GMT-1",  # UTC+1
            workday_start_hour=now.hour + n % 2,  # their local 08:00 or 09:00
            workday_end_hour=now.hour + n % 2 + 9,
        )
        for n, identity in enumerate(identities)
    )
    pulls = PullRequest.objects.bulk_create(
        PullRequest(
            repository=repositories[(n % 20) + 20 * (n % 3)],
            number=n + 1,
            title=f"Change {n}",
            state="open",
            author_login=f"dev{(n + 20) % people}",  # a teammate
        )
        for n in range(people)
    )
    ReviewRequest.objects.bulk_create(
        ReviewRequest(
            pull_request=pulls[(n + 20 * shift) % people],  # a teammate's
            reviewer_login=f"dev{n}",
            requested_at=now - timedelta(hours=shift + 1),
        )
        for n in range(people)
        for shift in (3, 7, 11)
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=1000)
    args = parser.parse_args()
    django_setup(bench_environment("codequest_bench_digests", fresh=True))
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from notifications.digests import daily_digests_prepare
    from notifications.models import Notification

    # A Tuesday, so everyone's working day applies.
    now = datetime.now(UTC)
    while now.weekday() != 1:
        now += timedelta(days=1)
    now = now.replace(hour=8, minute=5)
    seed(args.people, now)
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        made = daily_digests_prepare(now=now)
        spent = time.perf_counter() - started
    rows = Notification.objects.count()
    print(
        f"{args.people:,} people, {made:,} digests due and written ({rows:,} rows) "
        f"in {spent:.2f} s, {len(queries.captured_queries)} statements in all"
    )


if __name__ == "__main__":
    main()
