"""Teams without the admin: create one (by hand, or from a GitHub organization or
team or a GitLab group whose members are read from the provider), invite with a
link, approve join requests, manage roles."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.text import slugify

from integrations.credentials import credential_client, credential_guard
from integrations.models import (
    Organization,
    OrganizationMembership,
    ProviderCredential,
    TeamJoinRequest,
    invite_token_new,
)
from integrations.providers import get_provider
from integrations.providers.base import (
    Capability,
    ProviderError,
    ProviderNotFoundError,
    host_of,
)
from reviews.models import ProviderIdentity

logger = logging.getLogger(__name__)

Role = OrganizationMembership.Role
Via = OrganizationMembership.Via
# "acme", "acme/web", "group/sub/team": what a provider calls an org, team or group.
SOURCE_PATH = re.compile(
    r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}(?:/[A-Za-z0-9._-]{1,100}){0,5}"
)


# Paths under /dashboard/teams/ that are not a team's page.
RESERVED_SLUGS = frozenset({"from-provider"})


class TeamError(Exception):
    """Why a team change was refused, in words for the person who asked."""


@transaction.atomic
def team_create(*, user: Any, name: str) -> Organization:
    """A new team with its creator as admin."""
    name = " ".join(name.split())[:200]
    if not name:
        raise TeamError("Give the team a name.")
    try:
        with transaction.atomic():
            team = Organization.objects.create(name=name, slug=_free_slug(name))
    except IntegrityError:  # the same name created at the same moment
        team = Organization.objects.create(
            name=name, slug=f"{_free_slug(name)}-{invite_token_new()[:6].lower()}"
        )
    OrganizationMembership.objects.create(
        organization=team, user=user, role=Role.ADMIN, via=Via.MANUAL
    )
    return team


def team_create_from_provider(
    *, user: Any, provider: str, path: str, name: str = ""
) -> Organization:
    """A team that follows a provider organization/team/group: its members are
    read with the creator's own connection, who must be one of them."""
    source = _source_check(user=user, provider=provider, path=path)
    try:
        with transaction.atomic():
            team = Organization.objects.create(
                name=(" ".join(name.split()) or source.path)[:200],
                slug=_free_slug(name or source.path.replace("/", "-")),
                **source.fields(),
            )
            OrganizationMembership.objects.create(
                organization=team, user=user, role=Role.ADMIN, via=Via.MANUAL
            )
    except IntegrityError:
        raise source.taken() from None
    _memberships_apply(team)
    return team


def team_source_link(
    *, team: Organization, user: Any, provider: str, path: str
) -> tuple[int, int]:
    """An existing team starts following a provider organization/team/group
    (the admin must be one of its members): (joined, left)."""
    source = _source_check(user=user, provider=provider, path=path)
    for field, value in source.fields().items():
        setattr(team, field, value)
    try:
        with transaction.atomic():
            team.save()
    except IntegrityError:
        raise source.taken() from None
    return _memberships_apply(team)


@dataclass(frozen=True, slots=True)
class _Source:
    provider: str
    name: str  # the provider's name, for messages
    host: str
    path: str
    credential: ProviderCredential
    logins: set[str]

    def fields(self) -> dict[str, Any]:
        return {
            "source_provider": self.provider,
            "source_host": self.host,
            "source_path": self.path.lower(),
            "source_credential": self.credential,
            "source_members": sorted(self.logins),
            "members_synced_at": timezone.now(),
            "members_sync_error": "",
        }

    def taken(self) -> TeamError:
        return TeamError(
            f"A team already follows {self.path} on {self.name}: ask its admins "
            "for the invite link."
        )


def _source_check(*, user: Any, provider: str, path: str) -> _Source:
    """The provider group a person may make a team follow: a real path, a
    provider that lists members, their own connection, and them on the list."""
    path = path.strip().strip("@/ ")
    if not SOURCE_PATH.fullmatch(path):
        raise TeamError(f"“{path[:100]}” is not an organization, team or group path.")
    adapter = get_provider(provider)
    if not adapter.can(Capability.TEAM_MEMBERS):
        raise TeamError(f"{adapter.name} cannot list a group's members.")
    credential = _connection_of(user, provider)
    logins = _members_read(credential, path)
    if credential.account_login.lower() not in logins:
        raise TeamError(
            f"@{credential.account_login} is not a member of {path} on {adapter.name}."
        )
    host = host_of(adapter.web_url())
    return _Source(provider, adapter.name, host, path, credential, logins)


def team_members_refresh(*, team: Organization, by: Any = None) -> tuple[int, int]:
    """Read the provider's member list again and follow it: (joined, left).
    When the connection that read it is gone, the admin refreshing (``by``)
    lends their own from now on. A failure is kept on the team (shown to its
    admins); members stay."""
    credential = team.source_credential
    usable = credential is not None and credential.status == credential.Status.ACTIVE
    if by is not None and not usable:
        credential = team.source_credential = _connection_of(by, team.source_provider)
        team.save(update_fields=["source_credential", "updated_at"])
    try:
        if credential is None or credential.status != credential.Status.ACTIVE:
            raise TeamError(
                "the connection that read the members is gone; a team admin "
                "refreshes the members with their own"
            )
        logins = _members_read(credential, team.source_path)
    except TeamError as exc:
        Organization.objects.filter(pk=team.pk).update(members_sync_error=str(exc))
        team.members_sync_error = str(exc)
        raise
    team.source_members, team.members_synced_at = sorted(logins), timezone.now()
    team.members_sync_error = ""
    team.save(
        update_fields=["source_members", "members_synced_at", "members_sync_error"]
    )
    return _memberships_apply(team)


def teams_members_refresh_all() -> int:
    """Beat, daily: every provider-sourced team follows its provider again."""
    refreshed = 0
    for team in Organization.objects.exclude(source_path="").select_related(
        "source_credential"
    ):
        try:
            team_members_refresh(team=team)
            refreshed += 1
        except TeamError as exc:
            logger.warning(
                "integrations.teams.refresh_failed",
                extra={"team": team.slug, "error": str(exc)[:300]},
            )
    return refreshed


def teams_join_by_identity(
    *, user: Any, provider: str, host: str, login: str
) -> list[Organization]:
    """Someone signed in or connected with a login that a provider-sourced team
    lists: they join it (as members)."""
    teams = list(
        Organization.objects.filter(
            source_provider=provider,
            source_host=host,
            source_members__contains=[login.lower()],
        ).exclude(memberships__user=user)
    )
    for team in teams:
        OrganizationMembership.objects.get_or_create(
            organization=team, user=user, defaults={"via": Via.PROVIDER}
        )
    return teams


def team_join_request(*, user: Any, token: str) -> tuple[Organization, str]:
    """The invite link: a join request for its team. Returns the team and
    ``member`` (already in), ``pending`` (asked before) or ``requested``."""
    team = Organization.objects.filter(invite_token=token).first()
    if team is None or not token:
        raise TeamError(
            "This invite link is not valid any more: ask the team for a new one."
        )
    if team.memberships.filter(user=user).exists():
        return team, "member"
    _, created = TeamJoinRequest.objects.get_or_create(
        organization=team, user=user, status=TeamJoinRequest.Status.PENDING
    )
    return team, "requested" if created else "pending"


@transaction.atomic
def join_request_decide(
    *, team: Organization, request_id: int, admin: Any, approve: bool
) -> TeamJoinRequest:
    """An admin approves (the person joins as a member) or declines."""
    request = (
        TeamJoinRequest.objects.select_for_update()
        .filter(pk=request_id, organization=team, status=TeamJoinRequest.Status.PENDING)
        .select_related("user")
        .first()
    )
    if request is None:
        raise TeamError("That request was already answered.")
    request.status = (
        TeamJoinRequest.Status.APPROVED if approve else TeamJoinRequest.Status.DECLINED
    )
    request.decided_by, request.decided_at = admin, timezone.now()
    request.save(update_fields=["status", "decided_by", "decided_at"])
    if approve:
        OrganizationMembership.objects.get_or_create(
            organization=team, user=request.user, defaults={"via": Via.INVITE}
        )
    return request


@transaction.atomic
def membership_role_set(*, team: Organization, user_id: int, role: str) -> None:
    """Make a member an admin, or an admin a member (never the last admin)."""
    if role not in Role.values:
        raise TeamError(f"Unknown role {role[:20]!r}: admin or member.")
    membership = _membership_locked(team, user_id, losing_admin=role != Role.ADMIN)
    membership.role = role
    membership.save(update_fields=["role"])


@transaction.atomic
def membership_remove(*, team: Organization, user_id: int) -> None:
    """Take someone out of the team (never the last admin)."""
    _membership_locked(team, user_id, losing_admin=True).delete()


def team_invite_reset(*, team: Organization) -> str:
    """A new invite link; the old one stops working."""
    team.invite_token = invite_token_new()
    team.save(update_fields=["invite_token", "updated_at"])
    return team.invite_token


def _memberships_apply(team: Organization) -> tuple[int, int]:
    """People linked to a listed login join; people who joined through the
    provider and are no longer listed leave. Admins are never removed here."""
    listed = set(
        ProviderIdentity.objects.annotate(lowered=Lower("login"))
        .filter(
            provider=team.source_provider,
            host=team.source_host,
            lowered__in=team.source_members,
            member__user__isnull=False,
        )
        .values_list("member__user_id", flat=True)
    )
    present = set(team.memberships.values_list("user_id", flat=True))
    joining = listed - present
    OrganizationMembership.objects.bulk_create(
        [
            OrganizationMembership(organization=team, user_id=pk, via=Via.PROVIDER)
            for pk in sorted(joining)
        ],
        ignore_conflicts=True,
    )
    left, _ = (
        team.memberships.filter(via=Via.PROVIDER, role=Role.MEMBER)
        .exclude(user_id__in=listed)
        .delete()
    )
    return len(joining), left


def _members_read(credential: ProviderCredential, path: str) -> set[str]:
    name = get_provider(credential.provider).name
    try:
        with credential_guard(credential):
            logins = credential_client(credential).team_members("", f"@{path}")
    except ProviderNotFoundError:
        raise TeamError(
            f"{name} knows no {path} that @{credential.account_login} can see."
        ) from None
    except ProviderError as exc:
        raise TeamError(f"{name} did not list the members of {path}: {exc}") from None
    return {login.lower() for login in logins}


def _connection_of(user: Any, provider: str) -> ProviderCredential:
    credential = ProviderCredential.objects.filter(
        user=user,
        provider=provider,
        kind=ProviderCredential.Kind.OAUTH,
        status=ProviderCredential.Status.ACTIVE,
    ).first()
    if credential is None:
        name = get_provider(provider).name
        raise TeamError(f"Connect {name} first: its members are read with it.")
    return credential


def _membership_locked(
    team: Organization, user_id: int, *, losing_admin: bool
) -> OrganizationMembership:
    """The person's membership, with every membership of the team locked (in one
    order, so two admins changing each other at once take turns, not deadlock)."""
    memberships = {
        item.user_id: item
        for item in OrganizationMembership.objects.select_for_update()
        .filter(organization=team)
        .order_by("pk")
    }
    membership = memberships.get(user_id)
    if membership is None:
        raise TeamError("That person is not in the team.")
    admins = [item for item in memberships.values() if item.role == Role.ADMIN]
    if losing_admin and admins == [membership]:
        raise TeamError(
            "A team keeps at least one admin: make someone else admin first."
        )
    return membership


def _free_slug(name: str) -> str:
    base = slugify(name)[:90] or "team"
    if base in RESERVED_SLUGS:
        base = f"{base}-team"
    slug, number = base, 1
    while Organization.objects.filter(slug=slug).exists():
        number += 1
        slug = f"{base}-{number}"
    return slug
