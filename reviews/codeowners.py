"""CODEOWNERS, both dialects: who owns a path.

GitHub (https://docs.github.com/en/repositories/managing-your-repositorys-settings-and-features/customizing-your-repository/about-code-owners):
- the file is the first of ``.github/CODEOWNERS``, ``CODEOWNERS``, ``docs/CODEOWNERS``;
- gitignore-style patterns; the last matching line wins; a line with no owners
  leaves the path unowned; owners are ``@user``, ``@org/team`` or an email;
- not supported, as documented: ``!`` negation, ``[ ]`` ranges, ``\\#`` escapes
  (such patterns are taken literally); ``#`` after the owners starts a comment;
- a pattern matching a directory owns everything below it, except when its last
  segment has a wildcard: ``docs/*`` owns ``docs/a.md`` but not
  ``docs/build/b.md`` (GitHub's documented example).

GitLab (https://docs.gitlab.com/user/project/codeowners/reference/):
- the file is the first of ``CODEOWNERS``, ``docs/CODEOWNERS``, ``.gitlab/CODEOWNERS``;
- sections ``[Name]``, optional ``^[Name]``, ``[Name][N]`` approvals, default
  owners on the heading line; names are case-insensitive and repeated sections
  are combined; every section is evaluated on its own (last match wins in it)
  and a path's owners are those of every section that matches;
- ``!pattern`` excludes matching paths from its section, wherever it stands;
- patterns: ``\\#`` and ``\\ `` escapes; no leading ``/`` means "at any depth"
  (``/**/`` is prefixed), a trailing ``/`` means "everything below"
  (``**/*`` is appended), then an fnmatch with FNM_PATHNAME and FNM_DOTMATCH;
- owners: ``@user``, ``@group/sub``, emails and roles ``@@developer``,
  ``@@maintainer``, ``@@owner``; inline comments are not supported, so owners
  written after a ``#`` still count.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

GITHUB_LOCATIONS = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS")
GITLAB_LOCATIONS = ("CODEOWNERS", "docs/CODEOWNERS", ".gitlab/CODEOWNERS")
DEFAULT_SECTION = "codeowners"

_SECTION = re.compile(
    r"^(?P<optional>\^)?\[(?P<name>[^\]]+)\](?:\[(?P<approvals>\d+)\])?(?P<owners>.*)$"
)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True, slots=True)
class Rule:
    pattern: str
    owners: tuple[str, ...]
    line: int
    is_exclusion: bool = False


@dataclass(slots=True)
class Section:
    name: str
    is_optional: bool = False
    approvals: int = 1
    default_owners: tuple[str, ...] = ()
    rules: list[Rule] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Ownership:
    """The owners one section gives a path (GitHub files have one section)."""

    section: str
    owners: tuple[str, ...]
    approvals: int = 1
    is_optional: bool = False


@dataclass(slots=True)
class CodeOwners:
    dialect: str  # "github" or "gitlab"
    sections: list[Section]

    def owners_for(self, path: str) -> list[Ownership]:
        """Every section's owners for ``path`` (a repository-relative file path)."""
        path = path.lstrip("/")
        found = []
        for section in self.sections:
            owners = self._section_owners(section, path)
            if owners is not None:
                found.append(
                    Ownership(
                        section=section.name,
                        owners=owners,
                        approvals=section.approvals,
                        is_optional=section.is_optional,
                    )
                )
        return found

    def all_owners(self, path: str) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for ownership in self.owners_for(path):
            seen.update(dict.fromkeys(ownership.owners))
        return tuple(seen)

    def _section_owners(self, section: Section, path: str) -> tuple[str, ...] | None:
        matches = self._matches_github if self.dialect == "github" else _gitlab_matches
        if any(
            rule.is_exclusion and matches(rule.pattern, path) for rule in section.rules
        ):
            return None
        for rule in reversed(section.rules):
            if not rule.is_exclusion and matches(rule.pattern, path):
                return rule.owners or section.default_owners or ()
        return None

    @staticmethod
    def _matches_github(pattern: str, path: str) -> bool:
        return _github_regex(pattern).match(path) is not None


def path_matches(pattern: str, path: str) -> bool:
    """A CODEOWNERS (gitignore-style) pattern against a repository path, as
    GitHub reads it: also what ``points.exclude_paths`` in .codequest.yml uses."""
    return CodeOwners._matches_github(pattern, path)


def locations(dialect: str) -> tuple[str, ...]:
    """Where the provider looks for CODEOWNERS, in its order."""
    return GITHUB_LOCATIONS if dialect == "github" else GITLAB_LOCATIONS


def find_file(
    read: Callable[[str], str | None], dialect: str
) -> tuple[str, str] | None:
    """(location, text) of the CODEOWNERS file the provider would use."""
    for location in locations(dialect):
        text = read(location)
        if text is not None:
            return location, text
    return None


def parse(text: str, dialect: str) -> CodeOwners:
    if dialect == "github":
        return CodeOwners(
            "github", [Section(DEFAULT_SECTION, rules=_github_rules(text))]
        )
    return CodeOwners("gitlab", _gitlab_sections(text))


# --- GitHub ------------------------------------------------------------------------


def _github_rules(text: str) -> list[Rule]:
    rules = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        tokens = _tokens(line)
        owners = []
        for token in tokens[1:]:
            if token.startswith("#"):
                break  # an inline comment
            owners.append(token)
        rules.append(Rule(pattern=tokens[0], owners=tuple(owners), line=number))
    return rules


@lru_cache(maxsize=4096)
def _github_regex(pattern: str) -> re.Pattern[str]:
    """A gitignore-style pattern as a regex over repository-relative file paths."""
    anchored = pattern.startswith("/") or "/" in pattern.rstrip("/")
    directory_only = pattern.endswith("/")
    body = pattern.strip("/")
    last_segment = body.rsplit("/", 1)[-1]
    owns_contents = directory_only or not any(c in last_segment for c in "*?")
    regex = _glob_to_regex(body)
    prefix = "" if anchored else "(?:.*/)?"
    if body in ("*", "**"):
        return re.compile(r"^.+$")
    tail = "/.+" if directory_only else ("(?:/.+)?" if owns_contents else "")
    return re.compile(f"^{prefix}{regex}{tail}$")


def _glob_to_regex(glob: str) -> str:
    out = []
    index = 0
    while index < len(glob):
        if glob.startswith("**/", index):
            out.append("(?:.*/)?")
            index += 3
        elif glob.startswith("/**", index) and index + 3 == len(glob):
            out.append("/.*")
            index += 3
        elif glob.startswith("**", index):
            out.append(".*")
            index += 2
        elif glob[index] == "*":
            out.append("[^/]*")
            index += 1
        elif glob[index] == "?":
            out.append("[^/]")
            index += 1
        else:
            out.append(re.escape(glob[index]))
            index += 1
    return "".join(out)


# --- GitLab ------------------------------------------------------------------------


def _gitlab_sections(text: str) -> list[Section]:
    sections: dict[str, Section] = {}
    current = sections.setdefault(DEFAULT_SECTION, Section(DEFAULT_SECTION))
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        heading = _SECTION.match(line)
        if heading:
            current = _section_for(sections, heading)
            continue
        tokens = _tokens(line)
        pattern = tokens[0]
        if pattern.startswith("!"):
            current.rules.append(Rule(pattern[1:], (), number, is_exclusion=True))
            continue
        if pattern.startswith("\\#"):
            pattern = pattern[1:]
        owners = tuple(token for token in tokens[1:] if _is_owner(token))
        current.rules.append(Rule(pattern, owners, number))
    return [section for section in sections.values() if section.rules]


def _section_for(sections: dict[str, Section], heading: re.Match[str]) -> Section:
    name = heading["name"].strip()
    key = name.lower()  # names are case-insensitive; repeats are combined
    section = sections.get(key)
    if section is None:
        section = sections[key] = Section(name)
    section.is_optional = heading["optional"] is not None
    if heading["approvals"]:
        section.approvals = int(heading["approvals"])
    owners = tuple(token for token in _tokens(heading["owners"]) if _is_owner(token))
    if owners:
        section.default_owners = owners
    return section


def _is_owner(token: str) -> bool:
    return token.startswith("@") and len(token) > 1 or bool(_EMAIL.match(token))


def _gitlab_matches(pattern: str, path: str) -> bool:
    return _gitlab_regex(pattern).match("/" + path) is not None


@lru_cache(maxsize=4096)
def _gitlab_regex(pattern: str) -> re.Pattern[str]:
    if pattern == "*":
        pattern = "/**/*"
    if not pattern.startswith("/"):
        pattern = f"/**/{pattern}"
    if pattern.endswith("/"):
        pattern = f"{pattern}**/*"
    return re.compile("^" + _fnmatch_pathname(pattern) + "$")


def _fnmatch_pathname(glob: str) -> str:
    """Ruby File.fnmatch with FNM_PATHNAME | FNM_DOTMATCH, as a regex."""
    out = []
    index = 0
    while index < len(glob):
        if glob.startswith("**/", index):
            out.append("(?:[^/]*/)*")
            index += 3
        elif glob[index] == "*":
            out.append("[^/]*")
            index += 1
        elif glob[index] == "?":
            out.append("[^/]")
            index += 1
        elif glob[index] == "[":
            end = glob.find("]", index + 1)
            if end == -1:
                out.append(re.escape("["))
                index += 1
                continue
            body = glob[index + 1 : end].replace("\\", "\\\\")
            if body.startswith("!"):
                body = "^" + body[1:]
            out.append(f"[{body}]")
            index = end + 1
        else:
            out.append(re.escape(glob[index]))
            index += 1
    return "".join(out)


def _tokens(line: str) -> list[str]:
    """Split on whitespace, keeping ``\\ `` (an escaped space) inside a token."""
    parts = re.split(r"(?<!\\)\s+", line.strip())
    return [part.replace("\\ ", " ") for part in parts if part]
