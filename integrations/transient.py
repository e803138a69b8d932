"""Failures worth retrying: the task is safe to run again and may then succeed."""

from __future__ import annotations

from django.db import IntegrityError, InterfaceError, OperationalError

from integrations.providers.base import ProviderTemporaryError

# Errors that may pass by themselves: retried with backoff. A connection lost,
# a deadlock or serialization failure (OperationalError) and a unique-key race
# (IntegrityError) may; a value the database refuses (DataError) never does.
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (
    OperationalError,
    InterfaceError,
    IntegrityError,
    ProviderTemporaryError,
)
