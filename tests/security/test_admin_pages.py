"""Every admin add form answers a bad submission with the form, never a 500;
a deeply nested delivery still has a readable admin page."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.test import Client

from tests.factories import DeliveryFactory

pytestmark = pytest.mark.django_db


def add_urls() -> list[str]:
    return sorted(
        f"/admin/{model._meta.app_label}/{model._meta.model_name}/add/"
        for model in admin.site._registry
    )


@pytest.mark.parametrize("url", add_urls())
def test_add_forms_never_500(admin_user, url):
    client = Client(raise_request_exception=False)
    client.force_login(admin_user)

    shown = client.get(url)
    posted = client.post(url, {})

    assert shown.status_code in (200, 403)
    assert posted.status_code in (200, 403)
    if shown.status_code == 200:
        assert "This field is required" in posted.content.decode()


@pytest.mark.parametrize("depth", [254, 255, 300, 1100])
def test_a_deeply_nested_delivery_has_an_admin_page(admin_client, depth):
    body = b'{"a":' * depth + b"1" + b"}" * depth
    delivery = DeliveryFactory(body=body)

    response = admin_client.get(
        f"/admin/integrations/webhookdelivery/{delivery.pk}/change/"
    )

    assert response.status_code == 200
    assert "&quot;a&quot;" in response.content.decode()
