"""Export every record the portal owns as JSON lines, and restore it into an empty
database. The GitHub cache (issues, comments, CI runs, labels, releases, sync cursors)
is left out: a sync rebuilds it. Sessions, sign-in attempts and the page-cache counter
are transient and left out too.

The first line is a header: ``{"format": "tfmot-portal", "version": 1, "counts": ...}``;
each following line is one record as Django's serializer writes it (``model``, ``pk``,
``fields``), with users, content types and permissions referred to by natural key. The
last line is the export's signature, ``{"signature": "..."}``: an HMAC-SHA256 of every
line before it, keyed with ``SECRET_KEY``, so a restore knows the file is the one this
portal wrote.

A restore checks what it restores: the signature (a tampered or unsigned file only with
``force``), every record as its model validates it (``full_clean()``: choices, lengths,
formats, foreign keys), and no superuser unless ``superusers`` says so; the first record
at fault refuses the file, named by its line, and nothing is restored.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
from collections.abc import Iterable, Iterator

from django.apps import apps
from django.conf import settings
from django.core import serializers
from django.core.exceptions import ValidationError
from django.core.management.color import no_style
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DatabaseError, IntegrityError, connection, transaction
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
    "ci_status.tombstone",
    # Figures derived from the GitHub cache: the next sync recomputes them.
    "ci_status.itemtechnique",
    "ci_status.communityfigures",
    "techniques.dataversion",
}


class ImportRefused(Exception):
    pass


def _signer():
    """HMAC-SHA256 keyed with a key derived from SECRET_KEY for exports alone."""
    key = hashlib.sha256(b"tfmot-portal.export-signature" + settings.SECRET_KEY.encode()).digest()
    return hmac.new(key, digestmod=hashlib.sha256)


def signature(lines: Iterable[str]) -> str:
    """The signature of an export's lines (its header and records, in order)."""
    signer = _signer()
    for line in lines:
        signer.update(line.encode() + b"\n")
    return signer.hexdigest()


def _check_signature(lines: list[str], force: bool) -> tuple[list[str], str]:
    """The lines without their signature line, and a warning when ``force`` let a file
    through that is unsigned or whose signature does not match."""
    last = lines[-1] if lines else ""
    try:
        trailer = json.loads(last)
    except json.JSONDecodeError:
        trailer = None
    if isinstance(trailer, dict) and set(trailer) == {"signature"}:
        body = lines[:-1]
        if hmac.compare_digest(str(trailer["signature"]), signature(body)):
            return body, ""
        problem = (
            "The export's signature does not match: the file was changed after it was "
            "exported, or it was exported by a portal with another SECRET_KEY."
        )
    else:
        body = lines
        problem = "The export is not signed (no signature line at its end)."
    if not force:
        raise ImportRefused(f"{problem} Pass --force to restore it anyway.")
    return body, f"{problem} Restored anyway (--force)."


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
    """The header, every record, then the signature of all of them."""
    signer = _signer()
    for line in _export_body():
        signer.update(line.encode() + b"\n")
        yield line
    yield _dumps({"signature": signer.hexdigest()})


def _export_body() -> Iterator[str]:
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


def _problems(instance, deferred: list[str]) -> str:
    """What ``full_clean()`` finds wrong with a record (choices, lengths, formats,
    foreign keys), save "required" on a field left empty: forms ask for it, stored
    records (audit entries, optional texts) may hold it empty."""
    try:
        instance.full_clean(exclude=deferred)
    except ValidationError as exc:
        if not hasattr(exc, "error_dict"):
            return " ".join(exc.messages)
        found = []
        for field, errors in exc.error_dict.items():
            messages = [" ".join(e.messages) for e in errors if e.code != "blank"]
            if messages:
                found.append(f"{field}: {' '.join(messages)}")
        return "; ".join(found)
    return ""


def import_lines(
    lines: Iterable[str], *, force: bool = False, superusers: bool = False
) -> tuple[dict[str, int], list[str]]:
    """Restore an export into an empty database, all or nothing; returns the counts and
    the warnings (a signature ``force`` let through)."""
    from auditlog.context import disable_auditlog

    numbered = [line.rstrip("\r\n") for line in lines]
    body, warning = _check_signature([line for line in numbered if line.strip()], force)
    records = iter(body)
    header = _import_header(records)
    allowed = {m._meta.label_lower for m in exported_models()}
    counts: dict[str, int] = {}
    models = set()
    lines_of: dict[tuple[str, object], int] = {}
    try:
        with transaction.atomic(), disable_auditlog():
            deferred = []
            for number, line in enumerate(records, start=2):
                for obj in _deserialize(number, line, allowed):
                    instance = obj.object
                    label = instance._meta.label_lower
                    where = f"Line {number} ({label} {instance.pk!r})"
                    if label == "auth.user" and instance.is_superuser and not superusers:
                        raise ImportRefused(
                            f"{where}: {instance.get_username()!r} is a superuser; superusers "
                            "are restored from a file only with --superusers."
                        )
                    # Foreign keys are checked once every record is in (cycles refer
                    # forward): _dangling below.
                    relations = [f.name for f in instance._meta.fields if f.is_relation]
                    problems = _problems(
                        instance, [f.name for f in obj.deferred_fields] + relations
                    )
                    if problems:
                        raise ImportRefused(f"{where}: {problems}")
                    try:
                        obj.save()
                    except DatabaseError as exc:
                        raise ImportRefused(f"{where}: {exc}") from exc
                    if obj.deferred_fields:
                        deferred.append((where, obj))
                    lines_of[(label, instance.pk)] = number
                    counts[label] = counts.get(label, 0) + 1
                    models.add(type(instance))
            for where, obj in deferred:
                try:
                    obj.save_deferred_fields()
                except (DatabaseError, serializers.base.DeserializationError) as exc:
                    raise ImportRefused(f"{where}: {exc}") from exc
            dangling = _dangling(models)
            if dangling:
                label, pk, field = dangling
                raise ImportRefused(
                    f"Line {lines_of.get((label, pk), '?')} ({label} {pk!r}): {field}: "
                    "refers to a record the file does not hold."
                )
            expected = {k: v for k, v in header.get("counts", {}).items() if v}
            if counts != expected:
                raise ImportRefused(
                    f"The export is incomplete: expected {expected}, read {counts}."
                )
            # Next ids follow the restored ones (PostgreSQL sequences).
            statements = connection.ops.sequence_reset_sql(no_style(), list(models))
            if statements:
                with connection.cursor() as cursor:
                    for sql in statements:
                        cursor.execute(sql)
            bump_data_version()
    except IntegrityError as exc:  # a constraint checked when the transaction commits
        raise ImportRefused(f"The export's records do not hold together: {exc}") from exc
    return counts, [warning] if warning else []


def _dangling(models) -> tuple[str, object, str] | None:
    """The first restored record whose foreign key points at no record."""
    for model in sorted(models, key=lambda m: m._meta.label_lower):
        for field in model._meta.fields:
            if not field.is_relation or not field.many_to_one:
                continue
            target = field.remote_field.model
            present = target._base_manager.values(field.target_field.attname)
            bad = (
                model._base_manager.filter(**{f"{field.attname}__isnull": False})
                .exclude(**{f"{field.attname}__in": present})
                .values_list("pk", flat=True)
                .first()
            )
            if bad is not None:
                return model._meta.label_lower, bad, field.name
    return None


def _deserialize(number: int, line: str, allowed: set[str]) -> list:
    try:
        record = json.loads(line)
        if str(record.get("model", "")).lower() not in allowed:
            raise ImportRefused(
                f"Line {number}: {record.get('model')!r} is not a record the portal exports."
            )
        return list(serializers.deserialize("python", [record], handle_forward_references=True))
    except (
        json.JSONDecodeError,
        AttributeError,
        serializers.base.DeserializationError,
        ValidationError,
    ) as exc:
        raise ImportRefused(f"Line {number}: {exc}") from exc
