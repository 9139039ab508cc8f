"""Export every record the portal owns as JSON lines, and restore it into an empty
database. The GitHub cache (issues, comments, CI runs, labels, releases, sync cursors)
is left out: a sync rebuilds it. Sessions, sign-in attempts and the page-cache counter
are transient and left out too.

The first line is a header: ``{"format": "tfmot-portal", "version": 1, "counts": ...}``;
each following line is one record as Django's serializer writes it (``model``, ``pk``,
``fields``), with users, content types and permissions referred to by natural key.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable, Iterator

from django.apps import apps
from django.conf import settings
from django.core import serializers
from django.core.management.color import no_style
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from techniques.cache import bump_data_version

FORMAT, VERSION = "tfmot-portal", 1
APPS = [
    "auth",
    *settings.PORTAL_APPS,
    "github_integration",
    "socialaccount",  # GitHub sign-in links (user <-> GitHub user id)
    "auditlog",
    "django_celery_beat",
]
LEFT_OUT = {
    "auth.permission",  # made by migrate; groups and users refer to them by natural key
    "ci_status.issue",
    "ci_status.comment",
    "ci_status.cirun",
    "ci_status.label",
    "ci_status.release",
    "ci_status.synccursor",
    # Figures derived from the GitHub cache: the next sync recomputes them.
    "ci_status.itemtechnique",
    "ci_status.communityfigures",
    "techniques.dataversion",
}


class ImportRefused(Exception):
    pass


def exported_models() -> list:
    """The portal's own models, each after the models it refers to."""
    models = [
        model
        for label in APPS
        for model in apps.get_app_config(label).get_models()
        if model._meta.label_lower not in LEFT_OUT and not model._meta.proxy
    ]
    return serializers.sort_dependencies([(None, models)], allow_cycles=True)


def export_lines() -> Iterator[str]:
    models = exported_models()
    counts = {m._meta.label_lower: m._default_manager.count() for m in models}
    yield _dumps(
        {
            "format": FORMAT,
            "version": VERSION,
            "exported_at": timezone.now(),
            "counts": counts,
        }
    )
    for model in models:
        queryset = model._default_manager.order_by("pk")
        for obj in queryset.iterator(chunk_size=500):
            (record,) = serializers.serialize("python", [obj], use_natural_foreign_keys=True)
            yield _dumps(record)


class _LosslessEncoder(DjangoJSONEncoder):
    """Django's encoder keeps times to the millisecond; a restore gives back every
    microsecond (otherwise a record saved at 12:00:00.000412 comes back as 12:00:00)."""

    def default(self, o):
        if isinstance(o, datetime.datetime | datetime.time):
            text = o.isoformat()
            return text.removesuffix("+00:00") + "Z" if text.endswith("+00:00") else text
        return super().default(o)


def _dumps(value) -> str:
    return json.dumps(value, cls=_LosslessEncoder, sort_keys=True, ensure_ascii=False)


def non_empty_tables() -> list[str]:
    return [m._meta.label_lower for m in exported_models() if m._default_manager.exists()]


def _import_header(lines: Iterator[str]) -> dict:
    """The export's header line, when this version reads it and the database is empty."""
    try:
        header = json.loads(next(lines))
    except (StopIteration, json.JSONDecodeError) as exc:
        raise ImportRefused("Not an export of the portal: the first line is no header.") from exc
    if header.get("format") != FORMAT or header.get("version") != VERSION:
        raise ImportRefused(
            f"Not an export this version can read (format {header.get('format')!r}, "
            f"version {header.get('version')!r})."
        )
    filled = non_empty_tables()
    if filled:
        raise ImportRefused(
            "The database is not empty; restore only into a freshly migrated database. "
            f"Tables with rows: {', '.join(filled)}."
        )
    return header


def import_lines(lines: Iterable[str]) -> dict[str, int]:
    """Restore an export into an empty database, all or nothing; returns counts."""
    from auditlog.context import disable_auditlog

    lines = iter(lines)
    header = _import_header(lines)
    allowed = {m._meta.label_lower for m in exported_models()}
    counts: dict[str, int] = {}
    models = set()
    with transaction.atomic(), disable_auditlog():
        deferred = []
        for number, line in enumerate(lines, start=2):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                if str(record.get("model", "")).lower() not in allowed:
                    raise ImportRefused(
                        f"Line {number}: {record.get('model')!r} is not a record the portal "
                        "exports."
                    )
                objects = list(
                    serializers.deserialize("python", [record], handle_forward_references=True)
                )
            except (
                json.JSONDecodeError,
                AttributeError,
                serializers.base.DeserializationError,
            ) as exc:
                raise ImportRefused(f"Line {number}: {exc}") from exc
            for obj in objects:
                obj.save()
                if obj.deferred_fields:
                    deferred.append(obj)
                label = obj.object._meta.label_lower
                counts[label] = counts.get(label, 0) + 1
                models.add(type(obj.object))
        for obj in deferred:
            obj.save_deferred_fields()
        expected = {k: v for k, v in header.get("counts", {}).items() if v}
        if counts != expected:
            raise ImportRefused(f"The export is incomplete: expected {expected}, read {counts}.")
        # Next ids follow the restored ones (PostgreSQL sequences).
        statements = connection.ops.sequence_reset_sql(no_style(), list(models))
        if statements:
            with connection.cursor() as cursor:
                for sql in statements:
                    cursor.execute(sql)
        bump_data_version()
    return counts
