"""People: provider identities link to one member; unlinked ones read provider:login."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from integrations.providers.base import UserRef
from reviews.models import Member, ProviderIdentity
from reviews.selectors import member_label
from reviews.services import identities_record

pytestmark = pytest.mark.django_db


def test_identities_are_recorded_once_and_keep_the_provider_id():
    identities_record(
        provider="github",
        host="github.com",
        users=[UserRef("octocat", "1"), UserRef("octocat", "1"), UserRef("hubot", "2")],
    )
    identities_record(
        provider="github", host="github.com", users=[UserRef("octocat", "1", True)]
    )
    assert sorted(
        ProviderIdentity.objects.values_list("login", "external_id", "is_bot")
    ) == [("hubot", "2", False), ("octocat", "1", True)]


def test_member_label_for_linked_and_unlinked_identities():
    user = get_user_model().objects.create_user("mona")
    person = Member.objects.create(display_name="Mona Lisa", user=user)
    github = ProviderIdentity.objects.create(
        provider="github", host="github.com", login="monalisa", member=person
    )
    gitlab = ProviderIdentity.objects.create(
        provider="gitlab", host="gitlab.com", login="mona", member=person
    )
    stranger = ProviderIdentity.objects.create(
        provider="github", host="github.com", login="octocat"
    )
    assert member_label(github) == member_label(gitlab) == "mona"
    assert member_label(stranger) == "github:octocat"
    person.user = None
    assert member_label(github) == "Mona Lisa"
