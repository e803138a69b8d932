"""Known secrets set everywhere; none may appear in a log line, a response, an
admin page, a command's output or an exception message."""

from __future__ import annotations

import logging
from datetime import timedelta
from io import StringIO

import pytest
import responses
from django.core.management import CommandError, call_command

from tests.integrations import test_connect_repo as github_connect
from tests.integrations import test_github_app as app
from tests.integrations.test_github_app import token_body

pytestmark = pytest.mark.django_db


def test_no_secret_leaks_anywhere(client, admin_client, caplog, settings, monkeypatch):
    caplog.set_level(logging.DEBUG)
    settings.GITHUB_SECONDS_BETWEEN_REQUESTS = None
    settings.PUBLIC_URL = "https://cq.example.com"
    settings.CODEQUEST_ALLOWED_API_HOSTS = ["ghe.example.com"]
    token = github_connect.TOKEN
    monkeypatch.setenv("GH_TOKEN", token)
    seen: list[str] = []

    # Connect, then fail to connect with a refused token.
    with responses.RequestsMock() as rsps:
        github_connect.mock_github(rsps)
        seen.append(github_connect.connect())
    with responses.RequestsMock() as rsps:
        rsps.get(github_connect.REPO, status=401, json={"message": "Bad credentials"})
        with pytest.raises(CommandError) as error:
            github_connect.connect()
        seen.append(str(error.value))

    # Mint an App installation token.
    private_key_pem = "-----BEGIN PRIVATE KEY-----"
    app_key = app.rsa.generate_private_key(public_exponent=65537, key_size=2048)
    settings.GITHUB_APP_ID = app.APP_ID
    settings.GITHUB_APP_PRIVATE_KEY = app_key.private_bytes(
        app.serialization.Encoding.PEM,
        app.serialization.PrivateFormat.PKCS8,
        app.serialization.NoEncryption(),
    ).decode()
    with responses.RequestsMock() as rsps:
        rsps.post(
            f"{app.API}/app/installations/30614431/access_tokens",
            status=201,
            json=token_body(timedelta(hours=1)),
        )
        app.credentials.installation_token("github", 30614431)
    installation_token = "ghs_1llwuELtXN5HDOB99XhpcTXdJxbOuF0ZlSmj"

    # Sync and health checks against a provider that now refuses the token.
    import re

    with responses.RequestsMock() as rsps:
        rsps.get(re.compile(".*"), status=401, json={"message": "Bad credentials"})
        outputs = {}
        for command in ("sync", "check_integrations"):
            out, err = StringIO(), StringIO()
            with pytest.raises(CommandError) as error:
                call_command(command, stdout=out, stderr=err)
            outputs[command] = out.getvalue() + err.getvalue() + str(error.value)
            seen.append(outputs[command])
    assert "GitHub refused the token (401)" in outputs["sync"]
    # The refused sync marked the connection; the health check says so.
    assert (
        "unhealthy: the connection needs to be renewed"
        in (outputs["check_integrations"])
    )

    # Everything a person or an operator can look at.
    from integrations.models import ProviderCredential, WebhookEndpoint

    credential = ProviderCredential.objects.get()
    endpoint = WebhookEndpoint.objects.get()
    pages = [
        "/admin/integrations/providercredential/",
        f"/admin/integrations/providercredential/{credential.pk}/change/",
        f"/admin/integrations/webhookendpoint/{endpoint.pk}/change/",
        "/admin/integrations/connectedrepository/",
        "/api/v1/repositories/",
        "/api/v1/deliveries/",
        "/api/v1/sync-history/",
        "/api/v1/rate-limits/",
        "/admin/integrations/syncrun/",
        "/admin/integrations/integrationhealth/",
        "/admin/integrations/ratelimitsample/",
        "/api/schema/",
    ]
    for page in pages:
        response = admin_client.get(page)
        assert response.status_code == 200, page
        seen.append(response.content.decode())
    assert "PyGithub/PyGithub" in seen[-8]  # the pages really show the data
    out = StringIO()
    call_command("rotate_encryption_keys", stdout=out)
    seen.append(out.getvalue())

    secrets = [
        token,
        endpoint.secret,
        installation_token,
        private_key_pem,
        settings.SECRET_KEY,
        *settings.CODEQUEST_ENCRYPTION_KEYS,
    ]
    haystack = "\n".join([*seen, caplog.text])
    for secret in secrets:
        assert secret not in haystack, f"a secret leaked: {secret[:6]}…"
