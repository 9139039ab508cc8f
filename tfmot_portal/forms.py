"""Form helpers shared by the apps: one cleaning rule for free text, one way to read a
page's filters, and one way to run a service from a form and report its validation
error."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError

# C0 controls except tab, line feed and carriage return; DEL and the C1 controls; lone
# surrogates (JSON's "\ud800" escapes), which no database can store.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def clean_text(value: object) -> str:
    """Text without control characters, stripped: text that was only control characters
    (or blanks) becomes empty, so a required field refuses it."""
    return _CONTROL.sub("", str(value or "")).strip()


class CleanCharField(forms.CharField):
    """A CharField whose value goes through ``clean_text`` before validation."""

    def to_python(self, value):
        return clean_text(super().to_python(value))


def read_filters(form_class: type[forms.Form], query) -> tuple[forms.Form, dict]:
    """A filter form bound to a page's query string and the filters it accepts: none when
    the query is empty or not valid (the page then shows everything and says why)."""
    form = form_class(query or None)
    return form, (form.cleaned_data if form.is_valid() else {})


def report_form_errors(request, form: forms.Form) -> None:
    for name, errors in form.errors.items():
        label = form.fields[name].label or name.replace("_", " ") if name in form.fields else ""
        for text in errors:
            messages.error(request, f"{str(label).capitalize()}: {text}" if label else str(text))


def form_errors(form: forms.Form) -> list[str]:
    """A form's errors as sentences naming their field (for JSON answers and 400s)."""
    lines: list[str] = []
    for name, errors in form.errors.items():
        label = form.fields[name].label if name in form.fields else ""
        lines += [f"{label}: {e}" if label else str(e) for e in errors]
    return lines


def run_service(request, call: Callable[[], Any], success: str | Callable[[Any], str] = "") -> bool:
    """Run ``call()``; a ValidationError becomes error messages for the user. Returns
    whether the service succeeded; then ``success`` is shown: a message, or a function of
    what the service returned (to say what it did)."""
    try:
        result = call()
    except ValidationError as error:
        for text in error.messages:
            messages.error(request, text)
        return False
    if success:
        messages.success(request, success(result) if callable(success) else success)
    return True


def submit(request, form: forms.Form, call: Callable[..., object], success="") -> bool:
    """Validate ``form``, then run ``call(**form.cleaned_data)`` through ``run_service``:
    a form's fields are named after its service's keyword arguments, so a view passes the
    service with its object and user bound (``partial(service, obj, request.user)``)."""
    if not form.is_valid():
        report_form_errors(request, form)
        return False
    return run_service(request, lambda: call(**form.cleaned_data), success)
