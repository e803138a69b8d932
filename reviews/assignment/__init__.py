"""Reviewer assignment: candidate pool -> filters -> ranking -> fallback.

``pipeline`` is the pure chooser; ``service`` gathers the facts from the
database and the provider, runs it, and requests the reviewers; ``sla`` nudges
and reassigns requests that wait too long.
"""

from reviews.assignment.pipeline import (
    Decision,
    Person,
    Request,
    Strategy,
    owners_expand,
    reviewers_choose,
)

__all__ = [
    "Decision",
    "Person",
    "Request",
    "Strategy",
    "owners_expand",
    "reviewers_choose",
]
