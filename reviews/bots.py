"""Who is a bot (README "Points", fair play): the code host says so (GitHub's
``type: Bot``, a ``[bot]`` login; GitLab's ``bot`` flag and its token users),
an admin marked the account, or the operator named it in
``CODEQUEST_BOT_LOGINS``. Bots earn nothing, are never asked to review, are on
no leaderboard and are never a first review in the statistics."""

from __future__ import annotations

from django.conf import settings

from reviews.models import ProviderIdentity


def is_bot_login(login: str, *, marked: bool = False) -> bool:
    return (
        marked
        or login.endswith("[bot]")
        or login.lower() in settings.CODEQUEST_BOT_LOGINS
    )


def is_bot(identity: ProviderIdentity) -> bool:
    return is_bot_login(identity.login, marked=identity.is_bot)


def bot_logins() -> list[str]:
    """The logins known to be bots, lowercased, for a query to leave out
    (besides ``[bot]`` ones, which a query matches by their suffix). One query."""
    marked = ProviderIdentity.objects.filter(is_bot=True).values_list(
        "login", flat=True
    )
    return sorted(
        {*(login.lower() for login in marked), *settings.CODEQUEST_BOT_LOGINS}
    )
