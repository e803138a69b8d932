"""``.codequest.yml``: review settings kept in the repository (pure parsing).

The file on the default branch is the source of truth for the settings it
names (README "Review settings as code")::

    assignment:
      reviewers: 2            # how many reviewers to request (1-10)
      strategy: load_balance  # round_robin | load_balance | open_load | expertise
      pool: [alice, "@org/web"]  # extra candidates besides the code owners
      sla_hours: 9            # business hours a request may wait (1-200)
      auto_assign: true       # ask reviewers automatically
      quiet_labels: [wip]     # pull requests with one of these get nobody asked
    labels:
      size: true              # label pull requests size/XS … size/XL
      size_thresholds: [10, 100, 500, 1000]  # changed lines where S, M, L, XL start
    points:
      exclude_paths: ["docs/**"]  # a pull request touching only these earns nothing
    team: backend             # the owning team's slug (a check, not a move)

Everything in it is untrusted input: a size limit, YAML without anchors or
tags (no alias bombs, no objects), and every value checked, with every problem
reported at once, by its place in the file.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from dataclasses import dataclass, field
from io import StringIO
from typing import Any

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from reviews.models import AssignmentStrategy

CONFIG_PATH = ".codequest.yml"
MAX_BYTES = 64 * 1024
MAX_ITEMS = 100

# A provider login (GitHub, GitLab) or a team: "@kim", "kim", "@org/web".
POOL_ENTRY = re.compile(
    r"@?[A-Za-z0-9](?:[A-Za-z0-9._-]{0,98})(?:/[A-Za-z0-9._-]{1,100})*"
)
LABEL = re.compile(r"[^\x00-\x1f,]{1,100}")
# A CODEOWNERS-style pattern: no NUL or control characters, no "..", no comma.
PATH_PATTERN = re.compile(r"(?!.*\.\.)[^\x00-\x1f,]{1,200}")
TEAM_SLUG = re.compile(r"[A-Za-z0-9_-]{1,100}")

_SECTIONS = {
    "assignment": {
        "reviewers",
        "strategy",
        "pool",
        "sla_hours",
        "auto_assign",
        "quiet_labels",
        "status_comment",
    },
    "points": {"exclude_paths"},
    "labels": {"size", "size_thresholds"},
    "team": None,
}


class ConfigFileError(ValueError):
    """The file cannot be used; ``problems`` says every reason, by place."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class FileSettings:
    """What the file sets, as review-settings field -> value (only the
    fields it names), the team it claims, and a digest of its text."""

    values: dict[str, Any] = field(default_factory=dict)
    team: str = ""
    digest: str = ""


def settings_parse(text: str) -> FileSettings:
    """The settings ``text`` sets; ConfigFileError naming every problem."""
    digest = text_digest(text)
    if len(text.encode("utf-8", "replace")) > MAX_BYTES:
        raise ConfigFileError([f"the file is over {MAX_BYTES // 1024} KB"])
    document = _load(text)
    if document is None:
        return FileSettings(digest=digest)
    if not isinstance(document, dict):
        raise ConfigFileError(["the file must be a mapping of sections"])
    problems: list[str] = []
    values: dict[str, Any] = {}
    for key in document:
        if key not in _SECTIONS:
            problems.append(_unknown(key, _SECTIONS, where=""))
    assignment = _section(document, "assignment", problems)
    points = _section(document, "points", problems)
    if assignment is not None:
        values.update(_assignment(assignment, problems))
    if points is not None:
        paths = _strings(
            points,
            "exclude_paths",
            "points",
            problems,
            lambda v: PATH_PATTERN.fullmatch(v),
        )
        if paths is not None:
            values["points_exclude_paths"] = paths
    labels = _section(document, "labels", problems)
    if labels is not None:
        values.update(_labels(labels, problems))
    team = document.get("team", "")
    if team is None:
        team = ""
    if not isinstance(team, str) or (team and not TEAM_SLUG.fullmatch(team)):
        problems.append("team: must be a team's slug (letters, digits, - and _)")
        team = ""
    if problems:
        raise ConfigFileError(problems)
    return FileSettings(values=values, team=team, digest=digest)


def text_digest(text: str) -> str:
    """A short digest of the file's text (which version is in force)."""
    return hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()[:12]


def _assignment(section: dict, problems: list[str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if "reviewers" in section:
        number = section["reviewers"]
        if isinstance(number, bool) or not isinstance(number, int):
            problems.append("assignment.reviewers: must be a whole number")
        elif not 1 <= number <= 10:
            problems.append("assignment.reviewers: between 1 and 10")
        else:
            values["reviewer_count"] = number
    if "strategy" in section:
        strategy = section["strategy"]
        if strategy not in AssignmentStrategy.values:
            allowed = " | ".join(AssignmentStrategy.values)
            problems.append(f"assignment.strategy: one of {allowed}")
        else:
            values["strategy"] = strategy
    if "sla_hours" in section:
        hours = section["sla_hours"]
        if isinstance(hours, bool) or not isinstance(hours, int):
            problems.append("assignment.sla_hours: must be a whole number")
        elif not 1 <= hours <= 200:
            problems.append("assignment.sla_hours: between 1 and 200 business hours")
        else:
            values["sla_hours"] = hours
    for key in ("auto_assign", "status_comment"):
        if key in section:
            if not isinstance(section[key], bool):
                problems.append(f"assignment.{key}: true or false")
            else:
                values[key] = section[key]
    pool = _strings(
        section, "pool", "assignment", problems, lambda v: POOL_ENTRY.fullmatch(v)
    )
    if pool is not None:
        values["pool"] = pool
    labels = _strings(
        section, "quiet_labels", "assignment", problems, lambda v: LABEL.fullmatch(v)
    )
    if labels is not None:
        values["quiet_labels"] = labels
    return values


def _labels(section: dict, problems: list[str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if "size" in section:
        if not isinstance(section["size"], bool):
            problems.append("labels.size: true or false")
        else:
            values["size_labels"] = section["size"]
    if "size_thresholds" in section:
        thresholds = section["size_thresholds"]
        if problem := size_thresholds_problem(thresholds):
            problems.append(f"labels.size_thresholds: {problem}")
        else:
            values["size_thresholds"] = thresholds
    return values


def size_thresholds_problem(value: object) -> str:
    """What is wrong with size thresholds ("" when nothing)."""
    if (
        not isinstance(value, list)
        or len(value) != 4
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    ):
        return "four whole numbers of changed lines, where S, M, L and XL start"
    if not 0 < value[0] < value[1] < value[2] < value[3] <= 1_000_000:
        return "each larger than the one before, from 1 up to 1000000"
    return ""


def _section(document: dict, name: str, problems: list[str]) -> dict | None:
    if name not in document or document[name] is None:
        return None
    section = document[name]
    if not isinstance(section, dict):
        problems.append(f"{name}: must be a mapping")
        return None
    allowed = _SECTIONS[name] or set()
    for key in section:
        if key not in allowed:
            problems.append(_unknown(key, allowed, where=f"{name}."))
    return section


def _strings(
    section: dict, key: str, where: str, problems: list[str], valid: Any
) -> list[str] | None:
    if key not in section:
        return None
    items = section[key]
    if items is None:
        return []
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        problems.append(f"{where}.{key}: must be a list of text")
        return None
    if len(items) > MAX_ITEMS:
        problems.append(f"{where}.{key}: at most {MAX_ITEMS} entries")
        return None
    wrong = [item for item in items if not valid(item.strip())]
    if wrong:
        shown = ", ".join(repr(item[:40]) for item in wrong[:3])
        problems.append(f"{where}.{key}: not allowed: {shown}")
        return None
    return list(dict.fromkeys(item.strip() for item in items))


def _unknown(key: object, allowed: Any, *, where: str) -> str:
    name = str(key)[:40]
    close = difflib.get_close_matches(name, sorted(allowed), n=1)
    hint = f" (did you mean {where}{close[0]}?)" if close else ""
    return f"{where}{name}: unknown setting{hint}"


class _StrictLoader(yaml.SafeLoader):
    """Safe YAML without anchors and aliases: a few lines of aliases can
    expand to gigabytes (the "billion laughs")."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            line = self.peek_event().start_mark.line + 1
            raise ConfigFileError([f"line {line}: anchors and aliases are not allowed"])
        return super().compose_node(parent, index)


def _load(text: str) -> Any:
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - safe loader subclass
    except ConfigFileError:
        raise
    except RecursionError:
        raise ConfigFileError(["the file is nested too deeply"]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        place = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise ConfigFileError([f"{place}{exc.problem or 'not valid YAML'}"]) from None
    except yaml.YAMLError as exc:
        raise ConfigFileError([f"not valid YAML ({exc.__class__.__name__})"]) from None


# --- writing the file back ---------------------------------------------------------

# Review-settings field -> (section, key) in the file.
FIELD_KEYS: dict[str, tuple[str, str]] = {
    "reviewer_count": ("assignment", "reviewers"),
    "strategy": ("assignment", "strategy"),
    "pool": ("assignment", "pool"),
    "sla_hours": ("assignment", "sla_hours"),
    "auto_assign": ("assignment", "auto_assign"),
    "status_comment": ("assignment", "status_comment"),
    "quiet_labels": ("assignment", "quiet_labels"),
    "points_exclude_paths": ("points", "exclude_paths"),
    "size_labels": ("labels", "size"),
    "size_thresholds": ("labels", "size_thresholds"),
}


def settings_render(text: str | None, values: dict[str, Any]) -> str:
    """``text`` (the file as it is, or None for a new one) with ``values``
    (review-settings fields) written in, comments, order and everything else
    kept (ruamel.yaml's round trip). The result parses back to those values."""
    yaml_rt = YAML()
    yaml_rt.preserve_quotes = True
    yaml_rt.indent(mapping=2, sequence=4, offset=2)
    document = yaml_rt.load(text) if text and text.strip() else None
    if not isinstance(document, CommentedMap):
        document = CommentedMap()
    for name, value in values.items():
        section, key = FIELD_KEYS[name]
        if not isinstance(document.get(section), CommentedMap):
            document[section] = CommentedMap()
        old = document[section].get(key)
        if isinstance(value, list):
            new = CommentedSeq(value)
            if isinstance(old, CommentedSeq) and old.fa.flow_style():
                new.fa.set_flow_style()  # [a, b] stays [a, b]
            value = new
        document[section][key] = value
    out = StringIO()
    yaml_rt.dump(document, out)
    rendered = out.getvalue()
    written = settings_parse(rendered).values
    if any(written.get(name) != values[name] for name in values):
        raise ConfigFileError(["the settings could not be written into the file"])
    return rendered
