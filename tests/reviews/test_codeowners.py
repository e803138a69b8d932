"""CODEOWNERS against the providers' own documented examples and precedence rules."""

from __future__ import annotations

import pytest

from reviews.codeowners import find_file, parse

# GitHub's documentation example ("About code owners"), verbatim.
GITHUB_EXAMPLE = """\
# This is a comment.
# Each line is a file pattern followed by one or more owners.

# These owners will be the default owners for everything in
# the repo. Unless a later match takes precedence,
# @global-owner1 and @global-owner2 will be requested for
# review when someone opens a pull request.
*       @global-owner1 @global-owner2

# Order is important; the last matching pattern takes the most
# precedence. When someone opens a pull request that only
# modifies JS files, only @js-owner and not the global
# owner(s) will be requested for a review.
*.js    @js-owner #This is an inline comment.

# You can also use email addresses if you prefer. They'll be
# used to look up users just like we do for commit author
# emails.
*.go docs@example.com

# Teams can be specified as code owners as well. Teams should
# be identified in the format @org/team-name. Teams must have
# explicit write access to the repository. In this example,
# the octocats team in the octo-org organization owns all .txt files.
*.txt @octo-org/octocats

# In this example, @doctocat owns any files in the build/logs
# directory at the root of the repository and any of its
# subdirectories.
/build/logs/ @doctocat

# The `docs/*` pattern will match files like
# `docs/getting-started.md` but not further nested files like
# `docs/build-app/troubleshooting.md`.
docs/*  docs@example.com

# In this example, @octocat owns any file in an apps directory
# anywhere in your repository.
apps/ @octocat

# In this example, @doctocat owns any file in the `/docs`
# directory in the root of your repository and any of its
# subdirectories.
/docs/ @doctocat

# In this example, any change inside the `/scripts` directory
# will require approval from @doctocat or @octocat.
/scripts/ @doctocat @octocat

# In this example, @octocat owns any file in a `/logs` directory such as
# `/build/logs`, `/scripts/logs`, and `/deeply/nested/logs`. Any changes
# in a `/logs` directory will require approval from @octocat.
**/logs @octocat

# In this example, @octocat owns any file in the `/apps`
# directory in the root of your repository except for the `/apps/github`
# subdirectory, as its owners are left empty. Without an owner, changes
# to `apps/github` can be made with the approval of any user who has
# write access to the repository.
/apps/ @octocat
/apps/github

# In this example, @octocat owns any file in the `/apps`
# directory in the root of your repository except for the `/apps/github`
# subdirectory, as this subdirectory has its own owner @doctocat
/apps/ @octocat
/apps/github @doctocat
"""


@pytest.mark.parametrize(
    ("path", "owners"),
    [
        ("README.md", ("@global-owner1", "@global-owner2")),
        ("src/deep/index.js", ("@js-owner",)),
        ("main.go", ("docs@example.com",)),
        ("notes/todo.txt", ("@octo-org/octocats",)),
        ("build/logs/today.log", ("@octocat",)),  # **/logs comes later
        ("docs/getting-started.md", ("@doctocat",)),  # /docs/ comes later
        ("docs/build-app/troubleshooting.md", ("@doctocat",)),
        ("scripts/deploy.sh", ("@doctocat", "@octocat")),
        ("deeply/nested/logs/app.log", ("@octocat",)),
        ("apps/web/index.html", ("@octocat",)),
        ("apps/github/index.html", ("@doctocat",)),
        ("lib/apps/tool.py", ("@octocat",)),  # apps/ anywhere
    ],
)
def test_github_documented_example(path, owners):
    assert parse(GITHUB_EXAMPLE, "github").all_owners(path) == owners


def test_github_docs_star_matches_direct_children_only():
    codeowners = parse("docs/* docs@example.com\n", "github")
    assert codeowners.all_owners("docs/getting-started.md") == ("docs@example.com",)
    assert codeowners.all_owners("docs/build-app/troubleshooting.md") == ()
    assert codeowners.all_owners("other/docs/a.md") == ()  # a middle slash anchors


def test_github_empty_owners_unowns_a_path():
    codeowners = parse("/apps/ @octocat\n/apps/github\n", "github")
    assert codeowners.all_owners("apps/github/x.rb") == ()
    assert codeowners.owners_for("apps/github/x.rb")[0].owners == ()
    assert codeowners.all_owners("apps/web/x.rb") == ("@octocat",)


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ("!*.md @negated\n", "README.md"),  # `!` negation is not supported
        ("*.[ch] @ranges\n", "main.c"),  # `[ ]` ranges are not supported
        ("\\#notes.md @escaped\n", "#notes.md"),  # `\\#` escapes are not supported
    ],
)
def test_github_unsupported_gitignore_syntax_matches_nothing(text, path):
    assert parse(text, "github").all_owners(path) == ()


def test_github_anchoring_rules():
    codeowners = parse(
        "/root-only.txt @a\nanywhere.txt @b\nsrc/util/ @c\n**/generated/** @d\n",
        "github",
    )
    assert codeowners.all_owners("root-only.txt") == ("@a",)
    assert codeowners.all_owners("sub/root-only.txt") == ()
    assert codeowners.all_owners("x/y/anywhere.txt") == ("@b",)
    assert codeowners.all_owners("src/util/a.py") == ("@c",)
    assert codeowners.all_owners("lib/src/util/a.py") == ()  # middle slash anchors
    assert codeowners.all_owners("a/generated/b/c.py") == ("@d",)


# GitLab's documentation example ("Syntax of CODEOWNERS file"), verbatim.
GITLAB_EXAMPLE = """\
# Specify a default Code Owner for all files with a wildcard:
* @default-owner

# Specify multiple Code Owners to a specific file:
README.md @doc-team @tech-lead

# Specify a Code Owner to all files with a specific extension:
*.rb @ruby-owner

# Specify Code Owners with usernames or email addresses:
LICENSE @legal janedoe@gitlab.com

# Use group names to match groups and nested groups:
README @group @group/with-nested/subgroup

# Specify a Code Owner to a directory and all its contents:
/docs/ @all-docs
/docs/* @root-docs
/docs/**/*.md @root-docs

# Use a section to group related rules:
[Documentation]
ee/docs    @docs
docs       @docs

# Assign a role as a Code Owner:
/config/ @@maintainer
"""


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("app.py", {"codeowners": ("@default-owner",)}),
        ("sub/README.md", {"codeowners": ("@doc-team", "@tech-lead")}),
        ("lib/x.rb", {"codeowners": ("@ruby-owner",)}),
        ("LICENSE", {"codeowners": ("@legal", "janedoe@gitlab.com")}),
        ("README", {"codeowners": ("@group", "@group/with-nested/subgroup")}),
        ("docs/api/index.html", {"codeowners": ("@all-docs",)}),
        ("docs/index.html", {"codeowners": ("@root-docs",)}),
        ("docs/a/b/guide.md", {"codeowners": ("@root-docs",)}),
        ("docs", {"codeowners": ("@default-owner",), "Documentation": ("@docs",)}),
        (
            "config/app.yml",
            {"codeowners": ("@default-owner",), "Documentation": ("@@maintainer",)},
        ),
    ],
)
def test_gitlab_documented_example(path, expected):
    found = {
        o.section: o.owners for o in parse(GITLAB_EXAMPLE, "gitlab").owners_for(path)
    }
    assert found == expected


def test_gitlab_sections_are_independent_and_combined():
    text = """\
* @everyone
[Backend][2] @backend-leads
*.rb
/vendor/ @vendor-team
^[Docs]
*.md @writers
[backend]
/config/*.rb @config-team
"""
    codeowners = parse(text, "gitlab")
    by_section = {o.section: o for o in codeowners.owners_for("config/app.rb")}
    assert by_section["codeowners"].owners == ("@everyone",)
    # `[backend]` joins `[Backend]`: the later, more specific rule wins in it.
    assert by_section["Backend"].owners == ("@config-team",)
    assert by_section["Backend"].approvals == 2
    assert codeowners.all_owners("lib/a.rb") == ("@everyone", "@backend-leads")
    docs = {o.section: o for o in codeowners.owners_for("README.md")}["Docs"]
    assert docs.is_optional and docs.owners == ("@writers",)


def test_gitlab_exclusions_apply_within_their_section_wherever_they_stand():
    text = """\
!pom.xml
* @default-owner
[Ruby]
*.rb @ruby-devs
!/config/*
"""
    codeowners = parse(text, "gitlab")
    assert codeowners.owners_for("pom.xml") == []
    assert codeowners.all_owners("config/app.rb") == ("@default-owner",)
    assert codeowners.all_owners("lib/app.rb") == ("@default-owner", "@ruby-devs")


def test_gitlab_escapes_and_dotfiles():
    text = (
        "\\#file_with_pound.rb @pound\n"
        "path\\ with\\ spaces/ @space-owner\n"
        "*.yml @yaml\n"
    )
    codeowners = parse(text, "gitlab")
    assert codeowners.all_owners("#file_with_pound.rb") == ("@pound",)
    assert codeowners.all_owners("a/path with spaces/b.txt") == ("@space-owner",)
    assert codeowners.all_owners(".gitlab-ci.yml") == ("@yaml",)


def test_gitlab_owners_after_a_hash_still_count():
    codeowners = parse("*.go @go-team # reviewed by @gophers\n", "gitlab")
    assert codeowners.all_owners("main.go") == ("@go-team", "@gophers")


@pytest.mark.parametrize(
    ("dialect", "files", "expected"),
    [
        (
            "github",
            {"CODEOWNERS": "a", ".github/CODEOWNERS": "b"},
            ".github/CODEOWNERS",
        ),
        ("github", {"docs/CODEOWNERS": "a", "CODEOWNERS": "b"}, "CODEOWNERS"),
        ("github", {"docs/CODEOWNERS": "a"}, "docs/CODEOWNERS"),
        ("gitlab", {".gitlab/CODEOWNERS": "a", "CODEOWNERS": "b"}, "CODEOWNERS"),
        (
            "gitlab",
            {".gitlab/CODEOWNERS": "a", "docs/CODEOWNERS": "b"},
            "docs/CODEOWNERS",
        ),
        ("gitlab", {}, None),
    ],
)
def test_which_file_is_used(dialect, files, expected):
    found = find_file(files.get, dialect)
    assert (found[0] if found else None) == expected
