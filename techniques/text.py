"""Text cut to fit the database: one home for "as long as the field allows"."""

from __future__ import annotations

from django.db import models


def max_length(model: type[models.Model], field: str) -> int | None:
    """The field's ``max_length`` (None for unbounded text)."""
    return model._meta.get_field(field).max_length  # type: ignore[union-attr]


def fit(model: type[models.Model], field: str, value: object) -> str:
    """``value`` as text (None as ""), cut to what ``model.field`` can store."""
    text = "" if value is None else str(value)
    limit = max_length(model, field)
    return text[:limit] if limit else text
