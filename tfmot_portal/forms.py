"""Form helpers shared by the apps: one cleaning rule for free text, one way to read a
page's filters, and one way to run a service from a form and report its validation
error."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.core import validators
from django.core.exceptions import ValidationError
from django.utils.html import format_html

# C0 controls except tab, line feed and carriage return; DEL and the C1 controls; lone
# surrogates (JSON's "\ud800" escapes), which no database can store.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def clean_text(value: object) -> str:
    """Text without control characters, stripped, its line breaks one character each (as
    the browser counts them: a form posts them as CR LF): text that was only control
    characters (or blanks) becomes empty, so a required field refuses it."""
    text = str(value or "").replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", text).strip()


def limit_text(length: int, limit: int) -> str:
    """What a limited field says beside it ("120 of 2,000 characters"); static/js/limits.js
    writes the same words as the text changes."""
    text = f"{length:,} of {limit:,} characters"
    return text + (f": {length - limit:,} over the limit" if length > limit else "")


class LimitValidator(validators.MaxLengthValidator):
    """Refuses text over the limit, saying by how much: the portal never cuts it."""

    def __call__(self, value):
        length, limit = len(value), self.limit_value
        if length > limit:
            raise ValidationError(
                "%(length)s characters, %(over)s over the limit of %(limit)s: shorten it "
                "(nothing was cut; your text is kept as you typed it).",
                code="max_length",
                params={
                    "length": f"{length:,}",
                    "limit": f"{limit:,}",
                    "over": f"{length - limit:,}",
                },
            )


def within_limit(model, field: str, value: str) -> str:
    """``value`` for ``model.field`` when it fits; else a ValidationError on ``field``
    saying by how much it is over (a service never cuts what a person wrote)."""
    limit = model._meta.get_field(field).max_length
    if limit:
        try:
            LimitValidator(limit)(value)
        except ValidationError as error:
            raise ValidationError({field: error.messages}) from None
    return value


class LimitedWidget:
    """Draws its field's limit beside it as a count of the text's characters
    (``limit_text``), which static/js/limits.js keeps live as one types. The browser gets
    ``data-limit`` instead of ``maxlength``, which would cut pasted or typed text without a
    word; the field refuses what is over the limit (``LimitValidator``)."""

    attrs: dict

    def render(self, name, value, attrs=None, renderer=None):
        attrs = dict(attrs or {})
        field_id = attrs.get("id") or self.attrs.get("id") or f"id_{name}"
        attrs["id"] = field_id
        count_id = f"{field_id}-limit"
        described = (
            attrs.get("aria-describedby") or self.attrs.get("aria-describedby") or ""
        ).split()
        attrs["aria-describedby"] = " ".join([*described, count_id])
        html = super().render(name, value, attrs, renderer)  # type: ignore[misc]
        limit = int(self.attrs["data-limit"])
        length = len(clean_text(value))
        return html + format_html(
            '<span class="limit{}" id="{}" data-limit-for="{}">{}</span>',
            " over" if length > limit else "",
            count_id,
            field_id,
            limit_text(length, limit),
        )


class LimitedTextarea(LimitedWidget, forms.Textarea):
    pass


class LimitedTextInput(LimitedWidget, forms.TextInput):
    pass


_LIMITED: dict[type, type] = {forms.Textarea: LimitedTextarea, forms.TextInput: LimitedTextInput}


class CleanCharField(forms.CharField):
    """A CharField whose value goes through ``clean_text`` before validation. With a
    ``max_length``, its text box shows the limit and a live count (``LimitedWidget``)
    and the field refuses longer text with a message saying by how much
    (``LimitValidator``): every limited text box of the portal is drawn by this field."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.max_length is None:
            return
        self.validators = [
            LimitValidator(self.max_length) if isinstance(v, validators.MaxLengthValidator) else v
            for v in self.validators
        ]
        limited = _LIMITED.get(type(self.widget))
        if limited is not None:
            widget = limited(attrs=self.widget.attrs)
            widget.is_required = self.widget.is_required
            self.widget = widget

    def widget_attrs(self, widget):
        attrs = super().widget_attrs(widget)
        if "maxlength" in attrs:
            attrs["data-limit"] = attrs.pop("maxlength")
        return attrs

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
