"""Celery application; configuration comes from Django settings (CELERY_*)."""

import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "codequest.settings")

app = Celery("codequest")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.setup_logging.connect
def _logging_as_django(**kwargs: object) -> None:
    """Worker and beat log like web: one formatter (a dotted key plus its
    key=value fields), instead of Celery's own, which drops the fields."""
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)
