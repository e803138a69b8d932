"""Dashboard forms: a person's own review availability."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import available_timezones

from django import forms
from django.utils import timezone

from reviews.business_time import zone_get

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
