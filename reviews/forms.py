"""Dashboard forms: a person's own review availability, a repository's review
settings."""

from __future__ import annotations

import re
from datetime import datetime, time
from zoneinfo import available_timezones

from django import forms
from django.utils import timezone

from reviews.business_time import zone_get
from reviews.config_file import (
    CONFIG_PATH,
    LABEL,
    PATH_PATTERN,
    POOL_ENTRY,
    size_thresholds_problem,
)
from reviews.models import Member, RepositoryReviewSettings, size_thresholds_default


def comma_list(value: str, valid: re.Pattern[str], wrong_text: str) -> list[str]:
    """A comma-separated field: its entries, once each (at most 100), or a
    ValidationError naming the first wrong ones."""
    entries = [part.strip() for part in value.split(",") if part.strip()]
    wrong = [entry for entry in entries if not valid.fullmatch(entry)]
    if wrong:
        raise forms.ValidationError(f"{wrong_text}: {', '.join(wrong[:3])}.")
    return list(dict.fromkeys(entries))[:100]


LIST_FIELDS = ("pool", "quiet_labels", "points_exclude_paths", "size_thresholds")

HOURS = [(hour, f"{hour:02d}:00") for hour in range(25)]


class ReviewerSettingsForm(forms.Form):
    timezone = forms.ChoiceField(
        label="Time zone",
        choices=[(name, name) for name in sorted(available_timezones())],
        help_text="Working hours and review deadlines are counted in this zone.",
    )
    workday_start_hour = forms.TypedChoiceField(
        label="Workday starts", choices=HOURS[:24], coerce=int
    )
    workday_end_hour = forms.TypedChoiceField(
        label="Workday ends", choices=HOURS[1:], coerce=int
    )
    capacity = forms.IntegerField(
        label="Open review requests at most",
        min_value=0,
        max_value=50,
        help_text="Nobody asks you for more reviews while this many are open.",
    )

    def clean(self):
        data = super().clean()
        start, end = data.get("workday_start_hour"), data.get("workday_end_hour")
        if start is not None and end is not None and end <= start:
            raise forms.ValidationError("The workday must end after it starts.")
        return data


class AwayForm(forms.Form):
    first_day = forms.DateField(
        label="First day away", widget=forms.DateInput(attrs={"type": "date"})
    )
    last_day = forms.DateField(
        label="Last day away", widget=forms.DateInput(attrs={"type": "date"})
    )
    note = forms.CharField(
        label="Note (only you see it)", max_length=200, required=False
    )

    def __init__(self, *args, zone: str = "UTC", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.zone = zone

    def clean(self):
        data = super().clean()
        first, last = data.get("first_day"), data.get("last_day")
        if first and last:
            if last < first:
                raise forms.ValidationError("The last day comes before the first.")
            if last < timezone.localdate():
                raise forms.ValidationError("That time away is already over.")
            if (last - first).days > 366:
                raise forms.ValidationError("Time away is limited to a year at once.")
        return data

    def window(self) -> tuple[datetime, datetime]:
        """From the first day's midnight to the end of the last day, in my zone."""
        tz = zone_get(self.zone)
        data = self.cleaned_data
        starts = datetime.combine(data["first_day"], time(0), tz)
        ends = datetime.combine(data["last_day"], time.max, tz)
        return starts, ends


class RepositoryReviewSettingsForm(forms.ModelForm):
    """A team admin's review settings for one repository."""

    pool = forms.CharField(
        label="Extra reviewers",
        required=False,
        max_length=2000,
        help_text="Logins or teams besides the code owners, comma-separated: "
        "@kim, @org/web.",
    )

    quiet_labels = forms.CharField(
        label="Quiet labels",
        required=False,
        max_length=2000,
        help_text="Pull requests with one of these labels get nobody asked and "
        "no reminders, comma-separated: wip, do-not-review.",
    )
    points_exclude_paths = forms.CharField(
        label="Paths that earn no points",
        required=False,
        max_length=4000,
        help_text="A pull request that changes only these paths earns no points "
        "(CODEOWNERS patterns, comma-separated): docs/**, *.md.",
    )

    size_thresholds = forms.CharField(
        label="Size thresholds",
        required=False,
        max_length=100,
        help_text="Changed lines where size/S, M, L and XL start: 10, 100, 500, 1000.",
    )

    class Meta:
        model = RepositoryReviewSettings
        fields = [
            "auto_assign",
            "strategy",
            "reviewer_count",
            "pool",
            "sla_hours",
            "sla_reminder",
            "sla_reassign",
            "status_comment",
            "quiet_labels",
            "points_exclude_paths",
            "size_labels",
            "size_thresholds",
        ]
        labels = {
            "auto_assign": "Ask reviewers automatically",
            "reviewer_count": "Reviewers per pull request",
            "sla_hours": "Review within (business hours)",
            "sla_reminder": "When a review is late",
            "sla_reassign": "Ask someone else when it stays late",
            "status_comment": "Keep a status comment on each pull request",
            "size_labels": "Label pull requests by size (size/XS … size/XL)",
        }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reviewer_count"].widget.attrs.update(min=1, max=10)
        self.fields["sla_hours"].widget.attrs.update(min=1, max=200)
        if not self.is_bound:
            for name in LIST_FIELDS:
                self.initial[name] = ", ".join(
                    str(item) for item in getattr(self.instance, name) or []
                )
        # What .codequest.yml sets is changed there: through a pull request
        # CodeQuest opens when the file is valid, by hand while it is not.
        locked = self.instance.file_values or {}
        if self.instance.file_status == "valid":
            locked = {}
        for name in locked:
            if name in self.fields:
                self.fields[name].disabled = True
                self.fields[name].help_text = f"Set in {CONFIG_PATH}."
                if name in LIST_FIELDS:
                    self.initial[name] = ", ".join(
                        str(item) for item in getattr(self.instance, name) or []
                    )

    def clean_size_thresholds(self) -> list[int]:
        value = self.cleaned_data["size_thresholds"]
        if isinstance(value, list):  # disabled: the instance's own value
            return value
        if not value.strip():
            return size_thresholds_default()
        try:
            numbers = [int(part) for part in value.split(",")]
        except ValueError:
            numbers = []
        if problem := size_thresholds_problem(numbers):
            raise forms.ValidationError(f"Give {problem}.")
        return numbers

    def clean_quiet_labels(self) -> list[str]:
        return self._list("quiet_labels", LABEL, "Not a label")

    def clean_points_exclude_paths(self) -> list[str]:
        return self._list("points_exclude_paths", PATH_PATTERN, "Not a path pattern")

    def _list(self, name: str, valid: re.Pattern[str], wrong_text: str) -> list[str]:
        value = self.cleaned_data[name]
        if isinstance(value, list):  # disabled: the instance's own value
            return value
        return comma_list(value, valid, wrong_text)

    def clean_pool(self) -> list[str]:
        return self._list("pool", POOL_ENTRY, "Not a login or team")

    def clean_reviewer_count(self) -> int:
        value = self.cleaned_data["reviewer_count"]
        if not 1 <= value <= 10:
            raise forms.ValidationError("Between 1 and 10 reviewers.")
        return value

    def clean_sla_hours(self) -> int:
        value = self.cleaned_data["sla_hours"]
        if not 1 <= value <= 200:
            raise forms.ValidationError("Between 1 and 200 business hours.")
        return value


class PrivacyForm(forms.ModelForm):
    """The person's side of the privacy charter (README "Privacy")."""

    class Meta:
        model = Member
        fields = ["on_leaderboards", "shares_points"]
        labels = {
            "on_leaderboards": "Show me on team leaderboards",
            "shares_points": "Let my teammates see my points history",
        }
        help_texts = {
            "on_leaderboards": "Off: your points still count, and only you see "
            "your row.",
            "shares_points": "Off: your history is yours alone. On: teammates "
            "can open it, and you see who did (under Points).",
        }
