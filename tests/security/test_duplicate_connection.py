"""A provider account already connected by one person cannot be connected by
another: refused before anything is stored, the first person keeps it all."""

from __future__ import annotations

import pytest
from allauth.socialaccount.models import SocialAccount
from django.contrib.auth import get_user_model
from django.test import Client

from integrations.models import ProviderCredential
from reviews.models import ProviderIdentity
from tests.integrations.test_oauth_connect import (
    complete,
    github_app,  # noqa: F401 - autouse fixture
    start,
)

pytestmark = pytest.mark.django_db


def connect_as(username: str) -> tuple[Client, str]:
    """``username`` signs in and completes Connect GitHub as @ahmad88me."""
    user = get_user_model().objects.get_or_create(username=username)[0]
    client = Client()
    client.force_login(user)
    response, _ = complete(client, start(client))
    return client, response.content.decode()


def test_a_second_person_cannot_take_a_connected_account():
    _, first_page = connect_as("mona")
    assert "GitHub connected as @ahmad88me." in first_page

    _, page = connect_as("eve")

    assert "already connected to another person" in page
    assert "GitHub connected as" not in page
    assert list(
        ProviderCredential.objects.values_list("user__username", flat=True)
    ) == ["mona"]
    identity = ProviderIdentity.objects.get(login="ahmad88me")
    assert identity.member.user.username == "mona"
    assert SocialAccount.objects.get().user.username == "mona"


def test_a_login_already_linked_to_a_person_is_refused_too():
    from reviews.people import identity_link

    mona = get_user_model().objects.create_user("mona")
    identity_link(user=mona, provider="github", host="github.com", login="ahmad88me")

    _, page = connect_as("eve")

    assert "already connected to another person" in page
    assert ProviderCredential.objects.count() == 0
    assert SocialAccount.objects.count() == 0
    assert ProviderIdentity.objects.get(login="ahmad88me").member.user == mona


def test_the_same_person_can_connect_again():
    connect_as("mona")
    _, page = connect_as("mona")
    assert "GitHub connected as @ahmad88me." in page
    assert ProviderCredential.objects.count() == 1
