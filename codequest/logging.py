"""Log lines as a dotted key plus key=value pairs taken from ``extra``."""

from __future__ import annotations

import logging

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class KeyedFormatter(logging.Formatter):
    """``<time> INFO integrations.webhook.bad_signature provider='github'``."""

    def format(self, record: logging.LogRecord) -> str:
        # Celery's own lines already put their ``data`` in the message.
        skip = {"data"} if record.name.startswith("celery") else set()
        extras = " ".join(
            f"{key}={value!r}"
            for key, value in sorted(vars(record).items())
            if key not in _STANDARD and key not in skip
        )
        line = f"{self.formatTime(record)} {record.levelname} {record.getMessage()}"
        if extras:
            line = f"{line} {extras}"
        if record.exc_info:
            line = f"{line}\n{self.formatException(record.exc_info)}"
        return line
