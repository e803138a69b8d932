"""Forms: connecting a repository with an access token from the dashboard."""

from __future__ import annotations

from django import forms

from integrations.models import Organization
from integrations.providers import provider_choices
from reviews.config_file import PATH_PATTERN
from reviews.forms import comma_list


class RepositoryConnectForm(forms.Form):
    organization = forms.ModelChoiceField(
        queryset=Organization.objects.none(), empty_label=None, label="Team"
    )
    provider = forms.ChoiceField(choices=provider_choices)
    full_name = forms.CharField(
        label="Repository",
        max_length=500,
        help_text="owner/name on GitHub, group/sub/project on GitLab",
    )
    token = forms.CharField(
        label="Access token",
        max_length=500,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Stored encrypted; never shown again.",
    )
    api_url = forms.URLField(
        assume_scheme="https",
        label="API base URL",
        required=False,
        help_text="GitHub Enterprise (https://HOST/api/v3) or self-managed GitLab.",
    )
    register_webhook = forms.BooleanField(initial=True, required=False)

    def __init__(self, *args, admin_of, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = admin_of

    def clean_full_name(self) -> str:
        value = self.cleaned_data["full_name"].strip().strip("/")
        if "/" not in value or " " in value:
            raise forms.ValidationError("Use the full path, like octo/hello.")
        return value


class TeamChoiceForm(forms.Form):
    """The admin's bulk "Assign to team": one of the teams the person administers."""

    organization = forms.ModelChoiceField(
        queryset=Organization.objects.none(), label="Team", empty_label=None
    )

    def __init__(self, *args, teams, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = teams


class TeamCreateForm(forms.Form):
    name = forms.CharField(label="Team name", max_length=200)


class TeamFollowForm(forms.Form):
    """A provider organization, team or group for a team to follow."""

    provider = forms.ChoiceField(choices=())
    path = forms.CharField(
        label="Organization, team or group",
        max_length=300,
        help_text="GitHub: acme (the whole organization) or acme/web (a team). "
        "GitLab: the group's path, like acme/backend.",
    )

    def __init__(self, *args, providers: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["provider"].choices = providers


class TeamFromProviderForm(TeamFollowForm):
    """A new team that follows a provider organization, team or group."""

    name = forms.CharField(
        label="Team name (optional)",
        max_length=200,
        required=False,
        help_text="The provider's path if you leave it empty.",
    )


class TeamWritesForm(forms.ModelForm):
    """How CodeQuest writes to the team's repositories (team admins)."""

    write_exclude_paths = forms.CharField(
        label="Paths CodeQuest never writes",
        required=False,
        max_length=2000,
        help_text="CODEOWNERS patterns, comma-separated: .github/CODEOWNERS, docs/**.",
    )

    class Meta:
        model = Organization
        fields = [
            "onboarding_pull_requests",
            "commit_message_template",
            "write_exclude_paths",
        ]
        labels = {
            "onboarding_pull_requests": "Open 'Configure CodeQuest' and CODEOWNERS "
            "drift pull requests",
            "commit_message_template": "Commit message",
        }
        help_texts = {
            "onboarding_pull_requests": "In repositories connected without a "
            ".codequest.yml, and where CODEOWNERS no longer matches who reviews.",
        }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial["write_exclude_paths"] = ", ".join(
                self.instance.write_exclude_paths or []
            )

    def clean_commit_message_template(self) -> str:
        value = self.cleaned_data["commit_message_template"].strip()
        if not value or "\n" in value or "\r" in value:
            raise forms.ValidationError("One line of text ({timestamp} is allowed).")
        return value

    def clean_write_exclude_paths(self) -> list[str]:
        return comma_list(
            self.cleaned_data["write_exclude_paths"], PATH_PATTERN, "Not a path pattern"
        )


class TeamBoardForm(forms.ModelForm):
    """How the team's leaderboard shows people (team admins)."""

    class Meta:
        model = Organization
        fields = ["leaderboard"]
        labels = {"leaderboard": "The team's leaderboard shows"}
        widgets = {"leaderboard": forms.RadioSelect}
        help_texts = {
            "leaderboard": "Names: everyone who chose to be shown. Anonymous: "
            'each person sees their own row and "Teammate #n" for the rest. '
            "Off: no board; points still count."
        }
