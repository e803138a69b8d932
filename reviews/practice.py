"""Review practice: the built-in template a team's practice repository starts
from, the change with planted problems each practice pull request proposes, and
scoring a person's review against those problems (README "Practice repository").

A planted problem is found when the person (any of their linked logins) leaves
an inline comment on its file within ``LINE_WINDOW`` lines of it. The score is
a function of the stored comments and reviews, so whatever order the webhooks
arrive in, and however often they are replayed, it ends the same. What was
missed is shown only once the person has submitted a review.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from django.db.models import Q

from reviews.models import Comment, PracticeRound, PullRequest, Review, ReviewState

LINE_WINDOW = 2  # a comment this many lines above or below still counts
REPOSITORY_DESCRIPTION = (
    "CodeQuest review practice: pull requests with planted problems for new "
    "reviewers. Safe to experiment in; nothing here is deployed."
)
TEMPLATE_MESSAGE = "Practice repository: a small shop to review"
CHANGE_MESSAGE = "Add coupons and order history"
PULL_TITLE = "Practice review: coupons and order history"

README = """# Review practice

This repository belongs to CodeQuest's review practice. It holds a small shop
written in Python; each practice pull request adds a feature with a few
problems planted in it, the kind a good review catches.

How to practise:

1. Open the pull request CodeQuest opened for you and read the change.
2. Leave a comment on each line you would not let through, saying why.
3. Submit your review (comment, approve or request changes).

CodeQuest then shows, on your dashboard, which problems you found and explains
the ones you missed. Nothing here is deployed and nothing earns points: take
your time.
"""

CART = '''"""A shopping cart: prices are whole cents, never floats."""

from dataclasses import dataclass, field


@dataclass
class Item:
    sku: str
    price_cents: int
    quantity: int = 1


@dataclass
class Cart:
    items: list[Item] = field(default_factory=list)

    def add(self, item: Item) -> None:
        self.items.append(item)

    def total_cents(self) -> int:
        return sum(item.price_cents * item.quantity for item in self.items)
'''

ORDERS = '''"""Orders, stored in the shop's database."""


def order_get(cursor, order_id: int):
    cursor.execute("SELECT id, total_cents FROM orders WHERE id = %s", [order_id])
    return cursor.fetchone()
'''

TESTS = """from shop.cart import Cart, Item


def test_total_counts_every_item():
    cart = Cart()
    cart.add(Item("tea", 350, 2))
    cart.add(Item("cake", 420))
    assert cart.total_cents() == 1120
"""

# The repository as the template starts it (one commit on the default branch).
TEMPLATE_FILES: dict[str, str] = {
    "README.md": README,
    "shop/__init__.py": '"""A small shop, for review practice."""\n',
    "shop/cart.py": CART,
    "shop/orders.py": ORDERS,
    "tests/test_cart.py": TESTS,
}

CART_CHANGED = CART.replace(
    """    def total_cents(self) -> int:
        return sum(item.price_cents * item.quantity for item in self.items)
""",
    """    def total_cents(self) -> int:
        total = 0
        for index in range(1, len(self.items)):
            item = self.items[index]
            total += item.price_cents * item.quantity
        return total

    def discounted_total(self, percent: int) -> float:
        return self.total_cents() / 100 * (1 - percent / 100)
""",
)

# The planted injection is text for the practice repository, not a query here.
ORDERS_CHANGED = ORDERS + (  # noqa: S608
    """

def orders_of_customer(cursor, customer: str):
    cursor.execute(f"SELECT id, total_cents FROM orders WHERE customer = '{customer}'")
    return cursor.fetchall()
"""
)

COUPONS = '''"""Coupons from our partner's API."""

import requests

PARTNER_API_KEY = "pk-partner-2f9c81d7e4a0"


def coupon_percent(code: str, seen=[]) -> int:
    seen.append(code)
    try:
        answer = requests.get(
            "https://partner.example.com/coupons/" + code,
            headers={"Authorization": PARTNER_API_KEY},
            timeout=5,
        )
        return int(answer.json()["percent"])
    except Exception:
        return 0
'''

# The practice pull request: these files on its branch, in one commit.
CHANGE_FILES: dict[str, str] = {
    "shop/cart.py": CART_CHANGED,
    "shop/orders.py": ORDERS_CHANGED,
    "shop/coupons.py": COUPONS,
}


@dataclass(frozen=True, slots=True)
class Problem:
    key: str
    path: str
    snippet: str  # the planted line, found in the changed file
    title: str
    explanation: str

    @property
    def line(self) -> int:
        return _line_of(self.path, self.snippet)


PROBLEMS: tuple[Problem, ...] = (
    Problem(
        "off-by-one",
        "shop/cart.py",
        "for index in range(1, len(self.items)):",
        "The total skips the first item",
        "range(1, …) starts at the second item, so the first one is never "
        "charged; the existing test would catch it if it ran. Iterate over "
        "the items themselves.",
    ),
    Problem(
        "float-money",
        "shop/cart.py",
        "return self.total_cents() / 100 * (1 - percent / 100)",
        "Money as a float",
        "The cart keeps whole cents so that sums are exact; the discount turns "
        "them into a float of euros with rounding errors. Compute in cents "
        "and round once, explicitly.",
    ),
    Problem(
        "sql-injection",
        "shop/orders.py",
        "WHERE customer = '{customer}'",
        "SQL injection",
        "The customer name is pasted into the SQL text; a name with a quote in "
        "it rewrites the query. Pass it as a parameter, as order_get does.",
    ),
    Problem(
        "secret-in-code",
        "shop/coupons.py",
        'PARTNER_API_KEY = "pk-partner-2f9c81d7e4a0"',
        "A secret committed to the repository",
        "Everyone who can read the repository, and its history forever, has the "
        "partner key. Read it from the environment or a secret store, and "
        "rotate this one.",
    ),
    Problem(
        "mutable-default",
        "shop/coupons.py",
        "def coupon_percent(code: str, seen=[]) -> int:",
        "A mutable default argument",
        "The default list is created once and shared by every call, so 'seen' "
        "grows for the life of the process. Use None and make a new list.",
    ),
    Problem(
        "swallowed-error",
        "shop/coupons.py",
        "except Exception:",
        "Every error silently becomes 'no discount'",
        "A timeout, a bad key or a bug in this code all return 0 without a "
        "trace. Catch the errors you expect, log them, and let the rest "
        "surface.",
    ),
)


@cache
def _line_of(path: str, snippet: str) -> int:
    lines = [
        number
        for number, line in enumerate(CHANGE_FILES[path].splitlines(), start=1)
        if snippet in line
    ]
    if len(lines) != 1:
        raise ValueError(f"{snippet!r} is on {len(lines)} lines of {path}")
    return lines[0]


def problems_found(comments: Iterable[tuple[str, int | None]]) -> list[str]:
    """The keys of the planted problems that inline comments at these
    (path, line) places point at, in the template's order. A comment points at
    the nearest problem of its file within ``LINE_WINDOW`` lines (one comment,
    one problem: two planted close together need two comments)."""
    found = set()
    for path, line in comments:
        if not path or not line:
            continue
        near = [
            (abs(line - problem.line), index)
            for index, problem in enumerate(PROBLEMS)
            if problem.path == path and abs(line - problem.line) <= LINE_WINDOW
        ]
        if near:
            found.add(min(near)[1])
    return [PROBLEMS[index].key for index in sorted(found)]


def practice_round_score(*, pull_request: PullRequest) -> bool:
    """Score the practice round of this pull request, if it is one, from what
    is stored now: the person's inline comments and whether they submitted a
    review. Returns whether anything changed."""
    round_ = (
        PracticeRound.objects.filter(
            repository_id=pull_request.repository_id,
            pull_number=pull_request.number,
        )
        .exclude(status=PracticeRound.Status.FAILED)
        .first()
    )
    if round_ is None:
        return False
    logins = _logins(round_, pull_request)
    login_match = Q()
    for login in logins:
        login_match |= Q(author_login__iexact=login)
    comments = Comment.objects.filter(
        login_match, pull_request=pull_request, is_deleted=False, line__isnull=False
    ).values_list("path", "line")
    found = problems_found(comments)
    reviewer_match = Q()
    for login in logins:
        reviewer_match |= Q(reviewer_login__iexact=login)
    first_review = (
        Review.objects.filter(reviewer_match, pull_request=pull_request)
        .exclude(state=ReviewState.DISMISSED)
        .order_by("submitted_at", "pk")
        .values_list("submitted_at", flat=True)
        .first()
    )
    status = (
        PracticeRound.Status.REVIEWED if first_review else PracticeRound.Status.OPEN
    )
    changes = {
        "found": found,
        "problem_count": len(PROBLEMS),
        "reviewed_at": first_review,
        "status": status,
    }
    if all(getattr(round_, name) == value for name, value in changes.items()):
        return False
    for name, value in changes.items():
        setattr(round_, name, value)
    round_.save(update_fields=[*changes, "updated_at"])
    return True


def _logins(round_: PracticeRound, pull_request: PullRequest) -> set[str]:
    """Every login of the person on this pull request's code host."""
    repository = pull_request.repository
    linked = set(
        round_.member.identities.filter(
            provider=repository.provider, host=repository.host
        ).values_list("login", flat=True)
    )
    return {login.lower() for login in {round_.login, *linked}}


@dataclass(frozen=True, slots=True)
class Outcome:
    """One planted problem as the person's results page shows it."""

    problem: Problem
    found: bool


def round_outcomes(round_: PracticeRound) -> list[Outcome]:
    """Each planted problem and whether it was found; for a round still open,
    only the found ones (the rest stay hidden until the review is in)."""
    found = set(round_.found or ())
    return [
        Outcome(problem, problem.key in found)
        for problem in PROBLEMS
        if problem.key in found or round_.status == PracticeRound.Status.REVIEWED
    ]
