"""Helpers for the dashboard's forms."""

from __future__ import annotations

from django import forms


def errors_line(form: forms.Form) -> str:
    """A form's errors on one line, for a message: "cost: Enter a whole number"."""
    return "; ".join(
        f"{name}: {' '.join(errors)}" for name, errors in form.errors.items()
    )
