"""Sign in, sign up and the provider pages look like the product, and signing in
with GitHub goes straight through with one message."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model

from tests.integrations.test_oauth_connect import sign_in_with_github

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def github_app(settings):
    providers = dict(settings.SOCIALACCOUNT_PROVIDERS)
    providers["github"] = {
        **providers["github"],
        "APPS": [{"client_id": "test-client-id", "secret": "test-client-secret"}],
    }
    settings.SOCIALACCOUNT_PROVIDERS = providers


def in_layout(page: str) -> bool:
    return 'class="brand"' in page and "codequest.css" in page


def test_home_offers_sign_in_and_sign_up(client):
    page = client.get("/").content.decode()
    assert 'href="/accounts/signup/"' in page
    assert 'href="/accounts/login/"' in page
    # Straight to GitHub with a POST (no interstitial, no login CSRF by link).
    assert re.search(
        r'<form method="post" action="/accounts/github/login/\?process=login">\s*'
        r'<input type="hidden" name="csrfmiddlewaretoken"',
        page,
    )
    assert "Continue with GitHub" in page
    assert "Continue with GitLab" not in page  # not configured here


def test_home_for_a_signed_in_person_points_to_the_dashboard(client):
    client.force_login(get_user_model().objects.create_user("mona"))
    page = client.get("/").content.decode()
    assert 'href="/dashboard/"' in page
    assert "Sign up" not in page and "Continue with GitHub" not in page


@pytest.mark.parametrize(
    "path",
    [
        "/accounts/login/",
        "/accounts/signup/",
        "/accounts/password/reset/",
        "/accounts/github/login/?process=login",  # a GET still finds a styled page
    ],
)
def test_entrance_pages_use_the_site_layout(client, path):
    response = client.get(path)
    assert response.status_code == 200
    page = response.content.decode()
    assert in_layout(page)
    assert 'class="card auth-card"' in page
    assert "Messages:" not in page and "Menu:" not in page  # allauth's bare layout
    assert 'class="button' in page


def test_sign_in_page_offers_the_providers_as_posts(client):
    page = client.get("/accounts/login/").content.decode()
    assert '<form method="post" class="stacked" action="/accounts/login/">' in page
    assert 'action="/accounts/github/login/?process=login"' in page
    assert 'href="/accounts/github/login/' not in page


def test_connections_page_uses_the_site_layout(client):
    client.force_login(get_user_model().objects.create_user("mona"))
    response = client.get("/accounts/3rdparty/")
    assert response.status_code == 200
    page = response.content.decode()
    assert in_layout(page) and "Back to your dashboard" in page


def test_a_wrong_password_is_answered_on_the_styled_page(client):
    get_user_model().objects.create_user("mona", password="right-password-1")
    response = client.post("/accounts/login/", {"login": "mona", "password": "wrong"})
    assert response.status_code == 200
    page = response.content.decode()
    assert in_layout(page)
    assert "not correct" in page


def test_sign_up_then_sign_in_by_password(client):
    response = client.post(
        "/accounts/signup/",
        {
            "username": "grace",
            "password1": "a-long-pass-9",
            "password2": "a-long-pass-9",
        },
        follow=True,
    )
    assert response.redirect_chain[-1][0] == "/dashboard/"
    assert response.context["user"].username == "grace"


def test_signing_in_with_github_goes_straight_through_with_one_message(client):
    response = sign_in_with_github(client)
    assert response.redirect_chain[-1][0] == "/dashboard/"
    shown = [str(message) for message in response.context["messages"]]
    assert len(shown) == 1, shown
    assert "ahmad88me" in shown[0]
