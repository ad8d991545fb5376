"""Form helpers every app's portal views use. Forms only collect input: the rules live in the
services, whose ValidationErrors the views copy onto the form with ``apply_errors`` so the user reads
each message next to the field it concerns."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError


def apply_errors(form: forms.Form, exc: ValidationError, aliases: dict[str, str] | None = None) -> None:
    """Put a service's ValidationError on the form: per field where the form has it, else on top.
    ``aliases`` maps a service's field name to the form's (``{"unit": "unit_code"}``)."""
    aliases = aliases or {}
    if hasattr(exc, "error_dict"):
        for name, messages in exc.message_dict.items():
            name = aliases.get(name, name)
            target = name if name in form.fields else None
            for message in messages:
                form.add_error(target, message)
    else:
        for message in exc.messages:
            form.add_error(None, message)
