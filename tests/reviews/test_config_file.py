""".codequest.yml parsing: every value checked, every problem named by place."""

from __future__ import annotations

import pytest

from reviews.config_file import ConfigFileError, settings_parse

FULL = """
assignment:
  reviewers: 2            # how many reviewers to request
  strategy: load_balance  # round_robin | load_balance | open_load | expertise
  pool: [alice, bob]      # extra candidates besides the code owners
  sla_hours: 9            # business hours
points:
  exclude_paths: ["docs/**"]
team: backend             # the owning team's slug
"""


def test_the_contract_example_parses_to_review_settings():
    parsed = settings_parse(FULL)
    assert parsed.values == {
        "reviewer_count": 2,
        "strategy": "load_balance",
        "pool": ["alice", "bob"],
        "sla_hours": 9,
        "points_exclude_paths": ["docs/**"],
    }
    assert parsed.team == "backend"
    assert len(parsed.digest) == 12


def test_every_setting_and_only_what_the_file_names():
    parsed = settings_parse(
        "assignment:\n  auto_assign: false\n  quiet_labels: [wip, 'do not review']\n"
        "  pool: ['@org/web', kim]\n"
    )
    assert parsed.values == {
        "auto_assign": False,
        "quiet_labels": ["wip", "do not review"],
        "pool": ["@org/web", "kim"],
    }
    assert parsed.team == ""


@pytest.mark.parametrize("text", ["", "# only a comment\n", "---\n"])
def test_an_empty_file_sets_nothing(text):
    assert settings_parse(text).values == {}


def test_every_problem_is_reported_at_once_with_its_place():
    with pytest.raises(ConfigFileError) as caught:
        settings_parse(
            "assigment:\n  reviewers: 2\n"
            "assignment:\n  reviewers: 0\n  strategy: fastest\n  sla_hours: '9'\n"
            "  pol: [a]\n  auto_assign: maybe\n"
            "points:\n  exclude_paths: docs/**\n"
            "team: Back End\n"
        )
    assert caught.value.problems == [
        "assigment: unknown setting (did you mean assignment?)",
        "assignment.pol: unknown setting (did you mean assignment.pool?)",
        "assignment.reviewers: between 1 and 10",
        "assignment.strategy: one of "
        "round_robin | load_balance | open_load | expertise",
        "assignment.sla_hours: must be a whole number",
        "assignment.auto_assign: true or false",
        "points.exclude_paths: must be a list of text",
        "team: must be a team's slug (letters, digits, - and _)",
    ]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("assignment: [1, 2]\n", "assignment: must be a mapping"),
        ("- a\n- b\n", "the file must be a mapping of sections"),
        (
            "assignment:\n  reviewers: true\n",
            "assignment.reviewers: must be a whole number",
        ),
        (
            "assignment:\n  pool: ['not a login!']\n",
            "assignment.pool: not allowed: 'not a login!'",
        ),
        (
            "points:\n  exclude_paths: ['../etc/**']\n",
            "points.exclude_paths: not allowed: '../etc/**'",
        ),
        (
            "assignment:\n  reviewers: [\n",
            "line 3, column 1: expected the node content",
        ),
        (
            "key: !!python/object:os.system x\n",
            "line 1, column 6: could not determine a constructor",
        ),
    ],
)
def test_wrong_values_and_broken_yaml(text, problem):
    with pytest.raises(ConfigFileError) as caught:
        settings_parse(text)
    assert caught.value.problems[0].startswith(problem), caught.value.problems


def test_alias_bombs_are_refused_before_they_expand():
    names = "abcdefghi"
    bomb = 'a: &a ["x","x","x","x","x","x","x","x","x"]\n' + "".join(
        f"{new}: &{new} [*{old},*{old},*{old}]\n"
        for old, new in zip(names, names[1:], strict=False)
    )
    with pytest.raises(ConfigFileError) as caught:
        settings_parse(bomb)
    assert caught.value.problems == ["line 2: anchors and aliases are not allowed"]


def test_size_and_depth_limits():
    with pytest.raises(ConfigFileError) as too_big:
        settings_parse("# " + "x" * 70_000)
    assert too_big.value.problems == ["the file is over 64 KB"]
    with pytest.raises(ConfigFileError) as too_deep:
        settings_parse("a: " + "[" * 20_000 + "]" * 20_000)
    assert too_deep.value.problems == ["the file is nested too deeply"]


def test_lists_are_deduplicated_and_bounded():
    parsed = settings_parse("assignment:\n  quiet_labels: [wip, wip, ' draft ']\n")
    assert parsed.values["quiet_labels"] == ["wip", "draft"]
    many = ", ".join(f"l{i}" for i in range(101))
    with pytest.raises(ConfigFileError) as caught:
        settings_parse(f"assignment:\n  quiet_labels: [{many}]\n")
    assert caught.value.problems == ["assignment.quiet_labels: at most 100 entries"]
