"""Operations messages: a connection the provider refused is told to whoever
can renew it (the person whose grant it is, else the team's admins), once per
refusal; reconnected and refused again is news again."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.utils import timezone

from integrations.credentials import credential_guard
from integrations.models import OrganizationMembership, ProviderCredential
from integrations.providers.base import ProviderAuthError
from notifications.models import Notification, NotificationSettings
from notifications.operations import operations_notify
from notifications.services import notifications_send_due
from tests.factories import OrganizationFactory

pytestmark = pytest.mark.django_db


def refused(credential: ProviderCredential) -> None:
    """The provider answers 401 while the credential is in use."""
    with pytest.raises(ProviderAuthError), credential_guard(credential):
        raise ProviderAuthError("Bad credentials")
    credential.refresh_from_db()


def account(name: str, **choices):
    user = get_user_model().objects.create_user(name, email=f"{name}@example.com")
    NotificationSettings.objects.create(
        user=user, quiet_outside_working_hours=False, **choices
    )
    return user


def credential_of(**fields) -> ProviderCredential:
    credential = ProviderCredential(
        provider="github", api_url="https://api.github.com", **fields
    )
    credential.token = "gho_secret_token_value"
    credential.save()
    return credential


def test_a_refused_grant_is_told_to_its_owner_once_per_refusal(settings):
    settings.PUBLIC_URL = "https://codequest.example.com"
    mona = account("mona")
    credential = credential_of(user=mona, kind="oauth", account_login="mona-gh")
    assert operations_notify() == 0  # active: nothing to say
    refused(credential)
    assert operations_notify() == 2  # dashboard and email
    assert operations_notify() == 0
    notifications_send_due()
    (message,) = mail.outbox
    assert message.to == ["mona@example.com"]
    assert message.subject == "Reconnect GitHub: @mona-gh's connection was refused"
    assert "https://codequest.example.com/dashboard/" in message.body
    assert "gho_secret_token_value" not in message.body  # never the secret

    # Renewed, then refused again later: a new episode.
    ProviderCredential.objects.filter(pk=credential.pk).update(
        status="active", updated_at=timezone.now() - timedelta(minutes=5)
    )
    credential.refresh_from_db()
    refused(credential)
    assert operations_notify() == 2
    notifications_send_due()
    assert len(mail.outbox) == 2


def test_a_team_token_is_told_to_the_team_admins_as_they_chose():
    team = OrganizationFactory(slug="core")
    lead = account("lead")
    quiet = account("quiet", kinds={"operations": {"email": False, "slack": False}})
    member = account("member")
    for user, role in ((lead, "admin"), (quiet, "admin"), (member, "member")):
        OrganizationMembership.objects.create(organization=team, user=user, role=role)
    credential = credential_of(
        organization=team, kind="access_token", label="token for core"
    )
    refused(credential)
    operations_notify()
    assert set(Notification.objects.values_list("recipient__username", "channel")) == {
        ("lead", "in_app"),
        ("lead", "email"),
        ("quiet", "in_app"),
    }
    notifications_send_due()
    assert [message.to for message in mail.outbox] == [["lead@example.com"]]
    assert "(token for core)" in mail.outbox[0].body


def test_an_old_refusal_is_not_news():
    mona = account("mona")
    credential = credential_of(user=mona, kind="oauth")
    refused(credential)
    ProviderCredential.objects.update(updated_at=timezone.now() - timedelta(days=3))
    assert operations_notify() == 0
