"""django-allauth hooks: keep OAuth tokens encrypted in our table, answer errors
on the dashboard in plain words."""

from __future__ import annotations

from typing import Any

import requests
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialLogin
from allauth.socialaccount.providers.base import AuthError
from django.contrib import messages
from django.http import HttpRequest
from django.shortcuts import redirect
from django.urls import reverse

from integrations.providers import PROVIDERS, get_provider
from integrations.providers.base import host_of
from integrations.services import oauth_credential_store
from integrations.services.teams import teams_join_by_identity
from reviews.people import identity_link, identity_owner_conflicts


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def pre_social_login(self, request: HttpRequest, sociallogin: SocialLogin) -> None:
        """An existing person connected or signed in: keep their token (encrypted).

        A provider account that already belongs to someone else is refused here,
        before anything is stored: it would otherwise carry that person's
        identity, points and queue over to whoever connected it second.
        """
        user = request.user if request.user.is_authenticated else sociallogin.user
        if user is None or not user.pk:
            return
        if _belongs_to_someone_else(user, sociallogin):
            name = _name(sociallogin.account.provider, "That")
            messages.error(
                request,
                f"This {name} account is already connected to another person; "
                "nothing was changed. Sign in as that person to manage it.",
            )
            raise ImmediateHttpResponse(redirect("dashboard"))
        _store(request, user, sociallogin)

    def save_user(self, request: HttpRequest, sociallogin: SocialLogin, form=None):
        """A new person signed up with the provider: keep their token too."""
        user = super().save_user(request, sociallogin, form)
        _store(request, user, sociallogin)
        return user

    def get_connect_redirect_url(self, request: HttpRequest, socialaccount) -> str:
        """Connected: on to the repositories this account can connect."""
        return reverse("repository-pick", args=[socialaccount.provider])

    def on_authentication_error(
        self,
        request: HttpRequest,
        provider: Any,
        error: str | None = None,
        exception: Exception | None = None,
        extra_context: dict | None = None,
    ) -> None:
        """Back to the dashboard with a sentence a person understands."""
        name = _name(provider.id, provider.name)
        messages.error(request, authentication_error_message(name, error, exception))
        raise ImmediateHttpResponse(redirect("dashboard"))


def authentication_error_message(
    name: str, error: str | None, exception: Exception | None
) -> str:
    """One human sentence per way the OAuth dance can fail."""
    if error == AuthError.CANCELLED:
        return f"You cancelled the connection to {name}; nothing was changed."
    if isinstance(exception, requests.RequestException):
        return f"{name} did not answer. Please try again in a minute."
    if exception is not None:
        return f"{name} answered with an error. Please try again in a minute."
    return (
        f"The connection to {name} could not be completed: the link expired, was "
        "already used, or access was refused. Please click the button again."
    )


def _belongs_to_someone_else(user: Any, sociallogin: SocialLogin) -> bool:
    account = sociallogin.account
    if sociallogin.is_existing and account.user_id != user.pk:
        return True
    login = _login_of(account)
    return bool(login) and identity_owner_conflicts(
        user=user,
        provider=account.provider,
        host=_host_of(account.provider),
        login=login,
    )


def _name(slug: str, default: str) -> str:
    adapter = PROVIDERS.get(slug)
    return adapter.name if adapter is not None else default


def _login_of(account: Any) -> str:
    adapter = PROVIDERS.get(account.provider)
    data = account.extra_data if isinstance(account.extra_data, dict) else {}
    return adapter.account_login(data) if adapter is not None else ""


def _host_of(provider: str) -> str:
    return host_of(get_provider(provider).web_url())


def _store(request: HttpRequest, user: Any, sociallogin: SocialLogin) -> None:
    token = sociallogin.token
    if token is None or not token.token:
        return
    account = sociallogin.account
    login = _login_of(account)
    oauth_credential_store(
        user=user,
        provider=account.provider,
        account_login=str(login),
        token=token.token,
        refresh_token=token.token_secret or "",
        expires_at=token.expires_at,
    )
    if login:
        host = _host_of(account.provider)
        identity_link(
            user=user,
            provider=account.provider,
            host=host,
            login=login,
            external_id=str(account.uid or ""),
        )
        # Teams made from an organization or group that lists this login.
        teams_join_by_identity(
            user=user, provider=account.provider, host=host, login=login
        )
    if sociallogin.state.get("process") == "connect":
        # A sign-in already says "Successfully signed in as …": one message.
        name = _name(account.provider, account.provider)
        messages.success(request, f"{name} connected as @{login}.")
