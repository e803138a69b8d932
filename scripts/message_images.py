"""Pictures of each message CodeQuest sends, for the README ("What each message
looks like").

Usage (from the repository root): ``make message-images``, or
``.venv/bin/python -m scripts.message_images [--out docs/messages]``.

A fresh database (``codequest_docs_messages``) gets a small team's day written
with the models, then every producer runs as beat runs it (review requests,
your turn, reminders, stuck pull requests, the daily and weekly digests,
operations, the status comment). Each outbox row is drawn the way its channel
shows it, from exactly what would be sent (the email's subject and text, the
Slack text, the Teams card, the Mattermost text, the comment's Markdown), and
photographed with Debian's Chromium. The dashboard list is the real page.
"""

from __future__ import annotations

import argparse
import html
import re
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bench.services import ROOT, bench_environment, django_setup

CHROMIUM = "/usr/bin/chromium"
ZONES = [
    "Pacific/Pago_Pago",
    "Pacific/Honolulu",
    "America/Anchorage",
    "America/Los_Angeles",
    "America/Denver",
    "America/Chicago",
    "America/New_York",
    "America/Halifax",
    "America/Sao_Paulo",
    "Atlantic/South_Georgia",
    "Atlantic/Azores",
    "Europe/London",
    "Europe/Paris",
    "Europe/Athens",
    "Europe/Istanbul",
    "Asia/Dubai",
    "Asia/Karachi",
    "Asia/Dhaka",
    "Asia/Bangkok",
    "Asia/Singapore",
    "Asia/Tokyo",
    "Australia/Brisbane",
    "Pacific/Noumea",
    "Pacific/Fiji",
    "Pacific/Tongatapu",
    "Pacific/Kiritimati",
]
PASSWORD = "a-long-pass-9"
STYLE = (Path(__file__).parent / "message_images.css").read_text()
FRAME = (
    '<!doctype html><html><head><meta charset="utf-8"><style>{style}</style>'
    '</head><body><p class="caption">{caption}</p>{content}</body></html>'
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "messages"))
    args = parser.parse_args()
    env = bench_environment("codequest_docs_messages", fresh=True)
    env.update(
        PUBLIC_URL="https://codequest.example.com",
        DEFAULT_FROM_EMAIL="CodeQuest <codequest@example.com>",
        SLACK_BOT_TOKEN="xoxb-docs-only",
    )
    django_setup(env)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    pictures = story()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        page = browser.new_page(viewport={"width": 820, "height": 400})
        for index, (name, caption, content) in enumerate(pictures, start=1):
            page.set_content(
                FRAME.format(style=STYLE, caption=html.escape(caption), content=content)
            )
            path = out / f"{name}.png"
            page.locator("body").screenshot(path=str(path))
            print(f"[{index}/{len(pictures) + 1}] {path.relative_to(ROOT)}", flush=True)
        dashboard(browser, env, out)
        print(f"[{len(pictures) + 1}/{len(pictures) + 1}] dashboard list", flush=True)
        browser.close()


# --- the day --------------------------------------------------------------------


def story() -> list[tuple[str, str, str]]:
    """Write a team's day, run every producer; (file name, caption, HTML)."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from integrations.models import (
        ConnectedRepository,
        IntegrationHealth,
        Organization,
        OrganizationMembership,
        ProviderCredential,
    )
    from notifications.digests import daily_digests_prepare
    from notifications.models import Notification, NotificationSettings
    from notifications.nudges import review_nudges_notify
    from notifications.operations import operations_notify
    from notifications.services import (
        review_requests_notify,
        summary_of,
        team_channel_add,
    )
    from notifications.stuck import stuck_pulls_notify
    from notifications.turns import your_turn_notify
    from notifications.weekly import weekly_team_digests
    from reviews.models import (
        Member,
        ProviderIdentity,
        PullRequest,
        RepositoryReviewSettings,
        Review,
        ReviewAssignment,
        ReviewerProfile,
        ReviewRequest,
    )
    from reviews.status_comment import status_texts

    now = timezone.now().replace(microsecond=0)
    # Everyone's working day (9 to 18) starts this hour, in a zone where it
    # does, so the digests are due now and deadlines read as on a normal day.
    zone = next(
        (name for name in ZONES if now.astimezone(ZoneInfo(name)).hour == 9),
        f"Etc/GMT{-((9 - now.hour + 12) % 24 - 12):+d}",
    )
    users = get_user_model().objects
    team = Organization.objects.create(name="Shop", slug="shop")
    people = {}
    for login, name in (("mona", "Mona"), ("octocat", "Octo"), ("hubot", "Hubot")):
        user = users.create_user(login, email=f"{login}@example.com", password=PASSWORD)
        role = "admin" if login == "mona" else "member"
        OrganizationMembership.objects.create(organization=team, user=user, role=role)
        member = Member.objects.create(display_name=name, user=user)
        identity = ProviderIdentity.objects.create(
            provider="github", host="github.com", login=login, member=member
        )
        ReviewerProfile.objects.create(identity=identity, timezone=zone)
        NotificationSettings.objects.create(
            user=user, quiet_outside_working_hours=False
        )
        people[login] = user
    shop = ConnectedRepository.objects.create(
        organization=team,
        provider="github",
        host="github.com",
        external_id=1,
        full_name="acme/shop",
        followed_since=now - timedelta(days=30),
    )
    RepositoryReviewSettings.objects.create(repository=shop, status_comment=True)
    team_channel_add(
        team=team,
        by=people["mona"],
        kind="teams",
        name="Reviews",
        url="https://acme.webhook.office.com/webhookb2/docs-only",
    )

    def pull(number: int, title: str, *, author="octocat", **fields) -> PullRequest:
        return PullRequest.objects.create(
            repository=shop,
            number=number,
            title=title,
            author_login=author,
            state="open",
            url=f"https://github.com/acme/shop/pull/{number}",
            provider_created_at=fields.pop("created", now - timedelta(hours=3)),
            provider_updated_at=fields.pop("updated", now - timedelta(minutes=5)),
            **fields,
        )

    checkout = pull(42, "Make checkout faster", additions=120, deletions=30)
    ReviewAssignment.objects.create(
        pull_request=checkout,
        trigger="opened",
        strategy="expertise",
        status="requested",
        reviewers=["mona"],
        is_automatic=True,
        explanation={
            "strategy": "expertise",
            "chosen": ["mona"],
            "pool": {"mona": ["code owner (@acme/payments)", "knows checkout/"]},
        },
    )
    ReviewRequest.objects.create(
        pull_request=checkout,
        reviewer_login="mona",
        requested_at=now - timedelta(minutes=3),
    )
    rates = pull(41, "Cache shipping rates")
    Review.objects.create(
        pull_request=rates,
        external_id="1",
        reviewer_login="mona",
        state="changes_requested",
        submitted_at=now - timedelta(minutes=10),
    )
    refunds = pull(40, "Refund in the original currency", author="hubot")
    ReviewRequest.objects.create(
        pull_request=refunds,
        reviewer_login="mona",
        requested_at=now - timedelta(days=2),
        reminded_at=now - timedelta(minutes=2),
    )
    labels = pull(39, "Print labels in batches", author="hubot")
    ReviewRequest.objects.create(
        pull_request=labels,
        reviewer_login="octocat",
        requested_at=now - timedelta(days=3),
        reminded_at=now - timedelta(days=1),
        reassigned_at=now - timedelta(minutes=2),
        is_active=False,
    )
    ReviewAssignment.objects.create(
        pull_request=labels,
        trigger="sla_reassign",
        strategy="expertise",
        status="requested",
        reviewers=["mona"],
    )
    approved = pull(
        38,
        "Drop the legacy tax table",
        created=now - timedelta(days=6),
        updated=now - timedelta(days=3),
    )
    Review.objects.create(
        pull_request=approved,
        external_id="2",
        reviewer_login="hubot",
        state="approved",
        submitted_at=now - timedelta(days=3),
    )
    credential = ProviderCredential(
        user=people["octocat"],
        provider="github",
        api_url="https://api.github.com",
        kind="oauth",
        account_login="octocat",
        status="needs_reconnect",
    )
    credential.token = "docs-only"
    credential.save()
    IntegrationHealth.objects.create(
        repository=shop, status="healthy", checked_at=now - timedelta(minutes=10)
    )
    IntegrationHealth.objects.create(
        repository=shop,
        status="unhealthy",
        reasons=["webhook deleted on the provider"],
        checked_at=now - timedelta(minutes=5),
    )

    review_requests_notify(now=now)
    your_turn_notify(now=now)
    review_nudges_notify(now=now)
    stuck_pulls_notify(now=now)
    daily_digests_prepare(now=now)
    operations_notify(now=now)
    monday = (now + timedelta(days=7 - now.weekday())).replace(hour=8, minute=0)
    weekly_team_digests(now=monday)

    def row(kind: str, channel: str, to: str | None = "mona") -> Notification:
        found = Notification.objects.filter(kind=kind, channel=channel)
        if to is not None:
            found = found.filter(recipient__username=to)
        return found.select_related("recipient", "team_channel").latest("pk")

    asked = row("review_requested", "email")
    second = Notification(
        recipient=asked.recipient,
        channel="email",
        kind="review_requested",
        subject="Review requested: acme/shop#43 Show delivery dates at checkout",
        body="",
        url="https://github.com/acme/shop/pull/43",
        due_at=now,
    )
    return [
        ("review-requested-email", "Review requested · email", email(asked)),
        (
            "review-requested-slack",
            "Review requested · Slack",
            slack(row("review_requested", "slack")),
        ),
        (
            "review-requested-teams",
            "Review requested · a team's Microsoft Teams channel",
            teams(row("review_requested", "team", to=None)),
        ),
        (
            "summary-email",
            "An hourly summary · email",
            email(summary_of([asked, second])),
        ),
        (
            "your-turn-slack",
            "Your turn (to the author) · Slack",
            slack(row("your_turn", "slack", to="octocat")),
        ),
        (
            "review-overdue-email",
            "Your review is overdue · email",
            email(row("review_nudge", "email")),
        ),
        (
            "passed-on-slack",
            "Passed on to someone else · Slack",
            slack(row("review_nudge", "slack", to="octocat")),
        ),
        (
            "stuck-email",
            "A stuck pull request (to the author) · email",
            email(row("stuck_pull", "email", to="octocat")),
        ),
        (
            "daily-digest-email",
            "The daily digest · email",
            email(row("daily_digest", "email")),
        ),
        (
            "weekly-digest-teams",
            "The weekly team digest · Microsoft Teams",
            teams(row("weekly_team", "team", to=None)),
        ),
        (
            "reconnect-email",
            "A connection to renew (to its owner) · email",
            email(row("operations", "email", to="octocat")),
        ),
        (
            "unhealthy-slack",
            "An unhealthy integration (to the team's admins) · Slack",
            slack(row("operations", "slack", to="mona")),
        ),
        (
            "status-comment",
            "The status comment on the pull request · GitHub",
            comment(status_texts([checkout], now)[checkout.pk]),
        ),
    ]


# --- drawing what each channel shows -------------------------------------------


def email(row) -> str:
    from django.conf import settings

    return (
        '<div class="mail"><header>'
        f"<h1>{html.escape(row.subject)}</h1>"
        f'<div class="meta">From {html.escape(settings.DEFAULT_FROM_EMAIL)} · '
        f"to {html.escape(row.recipient.email)}</div></header>"
        f"<pre>{html.escape(row.body)}</pre></div>"
    )


def slack(row) -> str:
    """Slack's mrkdwn, as sent: *bold*, `code`, bare links; &lt; &gt; &amp;
    are Slack's own escapes, which already suit HTML."""
    from notifications.services import slack_text

    text = slack_text(row)
    text = re.sub(r"(https?://[^\s<]+)", r'<a href="\1">\1</a>', text)
    text = re.sub(r"\*([^*\n]+)\*", r"<b>\1</b>", text)
    text = re.sub(r"`([^`\n]+)`", r"<code>\1</code>", text)
    return (
        '<div class="slack"><div class="avatar">CQ</div><div>'
        '<span class="who">CodeQuest</span><span class="app">APP</span>'
        '<span class="time">10:04</span>'
        f'<div class="text">{text}</div></div></div>'
    )


def teams(row) -> str:
    """The Adaptive Card the channel is sent, its blocks and its action."""
    from notifications.channels import channel_payload

    card = channel_payload(row.team_channel, row)["attachments"][0]["content"]
    parts = []
    for block in card["body"]:
        css = "title" if block.get("weight") == "Bolder" else "body"
        parts.append(f'<div class="{css}">{html.escape(block["text"])}</div>')
    for action in card.get("actions", []):
        parts.append(f'<span class="button">{html.escape(action["title"])}</span>')
    return f'<div class="card">{"".join(parts)}</div>'


def comment(markdown: str) -> str:
    """The comment's Markdown: a heading, paragraphs, one table, <sub>."""
    out, table = [], []
    for line in markdown.splitlines() + [""]:
        if line.startswith("|"):
            table.append([cell.strip() for cell in line.strip("|").split("|")])
            continue
        if table:
            head, _, *rows = table
            out.append(
                "<table><tr>"
                + "".join(f"<th>{_inline(cell)}</th>" for cell in head)
                + "</tr>"
                + "".join(
                    "<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in row) + "</tr>"
                    for row in rows
                )
                + "</table>"
            )
            table = []
        if line.startswith("### "):
            out.append(f"<h3>{_inline(line[4:])}</h3>")
        elif line.startswith("<sub>"):
            out.append(f"<p><sub>{_inline(line[5:-6])}</sub></p>")
        elif line:
            out.append(f"<p>{_inline(line)}</p>")
    return (
        '<div class="comment"><header><b>codequest-bot</b> commented · edited'
        f'</header><div class="markdown">{"".join(out)}</div></div>'
    )


def _inline(text: str) -> str:
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text))


def dashboard(browser, env: dict[str, str], out: Path) -> None:
    """The dashboard list, as the real page shows it to mona."""
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT,
        env={**env, "DJANGO_DEBUG": "true"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        _wait(port)
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        page.goto(f"{base}/accounts/login/?next=/dashboard/notifications/")
        page.get_by_label("Username").fill("mona")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign In").click()
        page.get_by_role("region", name="For you").screenshot(
            path=str(out / "dashboard-list.png")
        )
    finally:
        server.terminate()
        server.wait(timeout=10)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait(port: int) -> None:
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("the development server did not start")


if __name__ == "__main__":
    main()
