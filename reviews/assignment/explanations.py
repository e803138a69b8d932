"""An assignment's stored explanation in words, the same on the dashboard
("Why you") and in the admin. Explanations are JSON written by older versions
too, so every reader here tolerates missing or odd-shaped parts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

UNEXPLAINED = "chosen by CodeQuest"


def reasons_for(explanation: Any, login: str) -> tuple[str, ...]:
    """Why one chosen reviewer was picked."""
    explanation = _mapping(explanation)
    reasons = [
        str(reason) for reason in _list(_mapping(explanation.get("pool")).get(login))
    ]
    strategy = explanation.get("strategy")
    if isinstance(strategy, str) and strategy:
        reasons.append(f"best {strategy.replace('_', ' ')} score")
    expertise = _mapping(explanation.get("expertise")).get(login)
    if isinstance(expertise, int | float) and expertise:
        reasons.append(f"knows these files (expertise {expertise:.2f})")
    return tuple(reasons) or (UNEXPLAINED,)


def explanation_lines(explanation: Any) -> list[str]:
    """The whole decision: strategy, who was chosen and why, who was left out."""
    explanation = _mapping(explanation)
    lines = []
    strategy = explanation.get("strategy")
    if isinstance(strategy, str) and strategy:
        lines.append(f"Strategy: {strategy.replace('_', ' ')}")
    for login in _list(explanation.get("chosen")):
        lines.append(f"Chose @{login}: {'; '.join(reasons_for(explanation, login))}")
    for login, reason in sorted(_mapping(explanation.get("filtered")).items()):
        lines.append(f"Left out @{login}: {reason}")
    teams = _list(explanation.get("fallback_teams"))
    if teams:
        lines.append(f"Teams requested: {', '.join(map(str, teams))}")
    note = explanation.get("note")
    if isinstance(note, str) and note:
        lines.append(note)
    return lines or ["No explanation was stored for this choice."]


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
