import re

from django import forms
from django.conf import settings

from notifications.channels import ChannelUrlError, channel_url_check
from notifications.models import (
    TEAM_KINDS,
    NotificationSettings,
    TeamChannel,
    team_kinds_default,
)
from notifications.preferences import (
    BATCHABLE,
    DESCRIPTIONS,
    FIXED_WHEN,
    NOW,
    WHEN_CHOICES,
    preference,
)


class NotificationSettingsForm(forms.ModelForm):
    """The person's choices: a row per kind of message (email, Slack, when),
    then when to be quiet. The per-kind fields are named ``<kind>__email``,
    ``<kind>__slack`` and ``<kind>__when``."""

    class Meta:
        model = NotificationSettings
        fields = ["quiet_outside_working_hours", "urgent_breaks_through", "mute_bots"]
        labels = {
            "quiet_outside_working_hours": "Hold messages until my next working hour",
            "urgent_breaks_through": "Urgent pull requests reach me at once",
            "mute_bots": "Nothing about pull requests opened by bots",
        }
        help_texts = {
            "quiet_outside_working_hours": "Your working hours and time zone are "
            "the ones under Availability.",
            "urgent_breaks_through": "Labelled urgent: sent right away, even "
            "outside your working hours or when you chose a summary.",
            "mute_bots": "Dependabot, Renovate and other bot accounts; they "
            "still show on this page.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.slack = bool(settings.SLACK_BOT_TOKEN)  # Slack is set up here
        kinds = {}
        for kind, description in DESCRIPTIONS.items():
            chosen = preference(self.instance, kind)
            names = {"email": f"{kind}__email"}
            kinds[kind] = (description, names)
            self.fields[names["email"]] = forms.BooleanField(
                required=False, initial=chosen.email, label="Email"
            )
            if self.slack:
                names["slack"] = f"{kind}__slack"
                self.fields[names["slack"]] = forms.BooleanField(
                    required=False, initial=chosen.slack, label="Slack"
                )
            if kind in BATCHABLE:
                names["when"] = f"{kind}__when"
                self.fields[names["when"]] = forms.ChoiceField(
                    choices=WHEN_CHOICES,
                    initial=chosen.when,
                    label="When",
                    required=False,  # left out: what was chosen before stays
                )
        self.kinds = kinds

    def kind_rows(self) -> list[dict]:
        """For the template: per kind its description and bound fields."""
        return [
            {
                "description": description,
                "fixed_when": FIXED_WHEN.get(kind, ""),
                **{part: self[name] for part, name in names.items()},
            }
            for kind, (description, names) in self.kinds.items()
        ]

    def flag_fields(self) -> list:
        return [self[name] for name in self.Meta.fields]

    def save(self, commit: bool = True) -> NotificationSettings:
        choice = super().save(commit=False)
        kinds = dict(choice.kinds or {})
        for kind, (_description, names) in self.kinds.items():
            before = preference(choice, kind)
            kinds[kind] = {
                "email": self.cleaned_data[names["email"]],
                # Slack not set up here: what the person chose before stays.
                "slack": self.cleaned_data[names["slack"]]
                if "slack" in names
                else before.slack,
                "when": (self.cleaned_data[names["when"]] or before.when)
                if "when" in names
                else NOW,
            }
        choice.kinds = kinds
        if commit:
            choice.save()
        return choice


SLACK_CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{6,20}$")


class TeamChannelForm(forms.Form):
    kind = forms.ChoiceField(choices=TeamChannel.Kind.choices, label="Service")
    name = forms.CharField(max_length=100, help_text="For you: #reviews, Backend…")
    url = forms.CharField(
        max_length=2000,
        required=False,
        label="Webhook URL",
        help_text="The incoming-webhook URL the service gives you. It is kept "
        "encrypted and never shown again. (Not for Slack.)",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    kinds = forms.MultipleChoiceField(
        choices=TEAM_KINDS,
        initial=team_kinds_default,
        widget=forms.CheckboxSelectMultiple,
        label="What goes there",
        error_messages={"required": "Choose at least one thing to send there."},
    )
    slack_channel = forms.CharField(
        max_length=30,
        required=False,
        label="Slack channel id",
        help_text="Slack only: the channel's details show its id at the bottom "
        "(C0123ABCD). Add the CodeQuest app to the channel first "
        "(/invite @CodeQuest).",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not settings.SLACK_BOT_TOKEN:  # Slack is not set up here
            self.fields["kind"].choices = [
                choice
                for choice in TeamChannel.Kind.choices
                if choice[0] != TeamChannel.Kind.SLACK
            ]
            del self.fields["slack_channel"]

    def clean(self):
        data = super().clean()
        kind = data.get("kind")
        if kind == TeamChannel.Kind.SLACK:
            channel = (data.get("slack_channel") or "").strip().upper()
            if not SLACK_CHANNEL_ID.match(channel):
                self.add_error(
                    "slack_channel",
                    "A Slack channel id looks like C0123ABCD (the channel's "
                    "details show it; a #name can be renamed).",
                )
            data["slack_channel"], data["url"] = channel, ""
        elif kind is not None:
            data["slack_channel"] = ""
            if not data.get("url"):
                self.add_error("url", "The service's webhook URL is needed.")
            else:
                try:
                    data["url"] = channel_url_check(kind, data["url"])
                except ChannelUrlError as exc:
                    self.add_error("url", str(exc))
        return data


class TeamChannelKindsForm(forms.Form):
    """Which messages go to one of the team's channels."""

    kinds = forms.MultipleChoiceField(
        choices=TEAM_KINDS,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="What goes there",
    )
