"""Worker and beat log like web: the keyed formatter, fields included."""

from __future__ import annotations

import logging

from celery import signals

from codequest.logging import KeyedFormatter


def test_celery_processes_use_the_projects_logging():
    """A receiver of setup_logging makes Celery leave logging to us; ours
    installs the project's configuration."""
    import codequest.celery  # noqa: F401 - connects the receiver

    root = logging.getLogger()
    saved = root.handlers[:]
    root.handlers.clear()
    try:
        signals.setup_logging.send(sender=None)
        handlers = root.handlers[:]
    finally:
        root.handlers[:] = saved
    assert any(isinstance(handler.formatter, KeyedFormatter) for handler in handlers)


def test_fields_are_kept_and_celery_data_is_not_repeated():
    formatter = KeyedFormatter()
    ours = logging.makeLogRecord(
        {
            "name": "integrations.health",
            "msg": "integrations.health.changed",
            "status": "unhealthy",
            "levelname": "WARNING",
        }
    )
    theirs = logging.makeLogRecord(
        {
            "name": "celery.app.trace",
            "msg": "Task x succeeded",
            "data": {"id": 1},
            "levelname": "INFO",
        }
    )
    assert formatter.format(ours).endswith(
        "WARNING integrations.health.changed status='unhealthy'"
    )
    assert formatter.format(theirs).endswith("INFO Task x succeeded")
