from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "notifications"
    verbose_name = "Notifications"

    def ready(self) -> None:
        from notifications.services import chat_reaches_people
        from reviews.reminders import chat_reaches_register

        chat_reaches_register(chat_reaches_people)
