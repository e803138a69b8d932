from django import forms

from notifications.models import NotificationSettings


class NotificationSettingsForm(forms.ModelForm):
    class Meta:
        model = NotificationSettings
        fields = ["email_review_requests", "quiet_outside_working_hours"]
        labels = {
            "email_review_requests": "Email me when my review is requested",
            "quiet_outside_working_hours": "Hold emails until my next working hour",
        }
        help_texts = {
            "email_review_requests": "",
            "quiet_outside_working_hours": "Your working hours and time zone are "
            "the ones under Availability.",
        }
