"""A share-out holds the person's lock until its transaction ends, so two
workers recounting the same person's day take turns (the daily cap holds)."""

from __future__ import annotations

import psycopg
import pytest
from django.db import connection, transaction

from reviews.models import Member, ProviderIdentity
from rewards.services import _people_locked

pytestmark = pytest.mark.django_db(transaction=True)


def locked_elsewhere(table: str, pk: int) -> bool:
    """Whether another connection finds the row locked (FOR UPDATE NOWAIT)."""
    settings = connection.settings_dict
    with psycopg.connect(
        host=settings["HOST"],
        port=settings["PORT"],
        user=settings["USER"],
        password=settings["PASSWORD"],
        dbname=settings["NAME"],
    ) as other:
        try:
            other.execute(
                f"SELECT id FROM {table} WHERE id = %s FOR UPDATE NOWAIT",  # noqa: S608
                [pk],
            )
        except psycopg.errors.LockNotAvailable:
            return True
        return False


def test_the_people_of_a_share_out_stay_locked_until_it_commits():
    member = Member.objects.create(display_name="Kim")
    linked = ProviderIdentity.objects.create(
        provider="github", host="github.com", login="kim", member=member
    )
    loose = ProviderIdentity.objects.create(
        provider="gitlab", host="gitlab.com", login="lee"
    )
    with transaction.atomic():
        owner = _people_locked({("m", member.pk), ("i", loose.pk)})
        assert owner == {linked.pk: ("m", member.pk), loose.pk: ("i", loose.pk)}
        assert locked_elsewhere(Member._meta.db_table, member.pk)
        assert locked_elsewhere(ProviderIdentity._meta.db_table, loose.pk)
    assert not locked_elsewhere(Member._meta.db_table, member.pk)
