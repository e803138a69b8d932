from django import forms
from django.conf import settings

from notifications.models import NotificationSettings


class NotificationSettingsForm(forms.ModelForm):
    class Meta:
        model = NotificationSettings
        fields = [
            "email_review_requests",
            "slack_review_requests",
            "quiet_outside_working_hours",
        ]
        labels = {
            "email_review_requests": "Email me when my review is requested",
            "slack_review_requests": "Message me on Slack when my review is requested",
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
