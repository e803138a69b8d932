"""Pages during an outage: Redis down is invisible, the database down is a 503
page; a NUL in any query string is a 400 everywhere."""

from __future__ import annotations

from unittest import mock

import pytest
from django.db import OperationalError
from django.db.backends.utils import CursorWrapper
from django.test import Client

from tests.factories import OrganizationFactory
from tests.test_dashboard import seed_member

pytestmark = pytest.mark.django_db

PAGES = [
    "/dashboard/",
    "/dashboard/queue/",
    "/dashboard/stats/",
    "/dashboard/leaderboard/",
    "/dashboard/points/",
    "/dashboard/settings/",
]
DEAD_REDIS = {
    "default": {
        "BACKEND": "codequest.cache.ResilientRedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
    }
}


@pytest.fixture
def member_client() -> Client:
    user, _ = seed_member("mona", OrganizationFactory())
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


@pytest.fixture
def redis_down(settings):
    settings.DJANGO_REDIS_IGNORE_EXCEPTIONS = True
    settings.CACHES = DEAD_REDIS


@pytest.mark.parametrize("page", PAGES)
def test_pages_work_with_the_cache_server_down(member_client, redis_down, page):
    assert member_client.get(page).status_code == 200


def test_sign_in_works_with_the_cache_server_down(redis_down):
    from django.contrib.auth import get_user_model

    get_user_model().objects.create_user("kim", password="a-long-passphrase")
    client = Client(raise_request_exception=False)

    assert client.get("/accounts/login/").status_code == 200
    response = client.post(
        "/accounts/login/", {"login": "kim", "password": "a-long-passphrase"}
    )

    assert response.status_code == 302
    assert client.get("/dashboard/").status_code == 200


def refuse(*args, **kwargs):
    raise OperationalError("connection to server failed: Connection refused")


@pytest.mark.parametrize("page", [*PAGES, "/accounts/login/", "/admin/"])
def test_pages_answer_503_while_the_database_is_down(member_client, page):
    with mock.patch.object(CursorWrapper, "execute", refuse):
        response = member_client.get(page)

    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert b"Back in a moment" in response.content
    assert b"Traceback" not in response.content


def test_sign_in_post_answers_503_while_the_database_is_down():
    client = Client(raise_request_exception=False)
    client.get("/accounts/login/")
    with mock.patch.object(CursorWrapper, "execute", refuse):
        response = client.post("/accounts/login/", {"login": "kim", "password": "x"})
    assert response.status_code == 503


def test_a_real_bug_is_still_a_500(member_client):
    with mock.patch("rewards.views.render", side_effect=ValueError("a bug")):
        response = member_client.get("/dashboard/points/")
    assert response.status_code == 500
    assert b"Something went wrong" in response.content


NUL_URLS = [
    "/api/v1/pulls/?author=oct%00cat",
    "/api/v1/reviews/?reviewer=%00",
    "/api/v1/points/?member=a%00b",
    "/api/v1/deliveries/?event=pull%00",
    "/dashboard/points/?member=mo%00na",
    "/dashboard/leaderboard/?team=%00",
    "/admin/integrations/webhookdelivery/?q=%00",
    "/admin/reviews/pullrequest/?author_login=%00x",
    "/dashboard/?x%00=1",
]


@pytest.mark.parametrize("url", NUL_URLS)
def test_a_nul_in_the_query_string_is_400(url):
    from django.contrib.auth import get_user_model

    root = get_user_model().objects.create_superuser("root", "r@example.com", "pw")
    client = Client(raise_request_exception=False)
    client.force_login(root)

    response = client.get(url)

    assert response.status_code == 400
    assert b"NUL" in response.content
