from django import forms
from django.conf import settings

from notifications.channels import ChannelUrlError, channel_url_check
from notifications.models import NotificationSettings, TeamChannel


class NotificationSettingsForm(forms.ModelForm):
    class Meta:
        model = NotificationSettings
        fields = [
            "email_review_requests",
            "slack_review_requests",
            "daily_digest",
            "quiet_outside_working_hours",
        ]
        labels = {
            "email_review_requests": "Email me when my review is requested",
            "slack_review_requests": "Message me on Slack when my review is requested",
            "daily_digest": "A digest at the start of my working day",
            "quiet_outside_working_hours": "Hold messages until my next working hour",
        }
        help_texts = {
            "email_review_requests": "",
            "slack_review_requests": "Found by your email address in the "
            "workspace CodeQuest's Slack app is in.",
            "quiet_outside_working_hours": "Your working hours and time zone are "
            "the ones under Availability.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not settings.SLACK_BOT_TOKEN:  # Slack is not set up here
            del self.fields["slack_review_requests"]


class TeamChannelForm(forms.Form):
    kind = forms.ChoiceField(choices=TeamChannel.Kind.choices, label="Service")
    name = forms.CharField(max_length=100, help_text="For you: #reviews, Backend…")
    url = forms.CharField(
        max_length=2000,
        label="Webhook URL",
        help_text="The incoming-webhook URL the service gives you. It is kept "
        "encrypted and never shown again.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )

    def clean(self):
        data = super().clean()
        if "kind" in data and "url" in data:
            try:
                data["url"] = channel_url_check(data["kind"], data["url"])
            except ChannelUrlError as exc:
                self.add_error("url", str(exc))
        return data
