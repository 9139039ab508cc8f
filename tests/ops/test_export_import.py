"""export_portal / import_portal: a round trip of the demo restores every record."""

import io
import json

import pytest
from django.core.management import CommandError, call_command

from ops.portability import LEFT_OUT, export_lines, signature


def _records(lines):
    header, *records, signed = lines
    assert set(json.loads(signed)) == {"signature"}
    return json.loads(header), [json.loads(r) for r in records]


@pytest.mark.slow
def test_the_demo_round_trips_through_export_and_import(
    transactional_db, settings, tmp_path, demo_github
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    call_command("load_demo", stdout=io.StringIO())
    path = tmp_path / "portal.jsonl"
    call_command("export_portal", output=str(path), stderr=io.StringIO())
    header, before = _records(path.read_text().splitlines())
    models = {r["model"] for r in before}
    # The portal's own records are there, the GitHub cache is not.
    assert {"techniques.technique", "reviews.review", "adherence.gap", "auth.user"} <= models
    assert {"adherence.gapevent", "adherence.ruleresult", "convergence.convergencerun"} <= models
    assert {"auditlog.logentry", "lifecycle.contributionstep"} <= models
    assert not models & LEFT_OUT
    assert header["counts"]["techniques.technique"] >= 13  # the real toolkit's techniques

    call_command("flush", interactive=False)
    out = io.StringIO()
    call_command("import_portal", str(path), superusers=True, stdout=out)
    assert f"Restored {len(before)} records." in out.getvalue()

    _, after = _records(list(export_lines()))
    assert after == before


def test_import_refuses_a_database_that_is_not_empty(db, pruning, tmp_path):
    path = tmp_path / "portal.jsonl"
    path.write_text("\n".join(export_lines()) + "\n")
    with pytest.raises(CommandError, match=r"not empty.*techniques\.technique"):
        call_command("import_portal", str(path))


def test_import_refuses_what_is_not_an_export(db, tmp_path):
    path = tmp_path / "other.jsonl"
    path.write_text('{"model": "auth.user"}\n')
    with pytest.raises(CommandError, match="Not an export"):
        call_command("import_portal", str(path), force=True)


def test_import_refuses_records_the_portal_does_not_export(db, tmp_path):
    header = next(iter(export_lines()))
    path = tmp_path / "sessions.jsonl"
    session = {
        "model": "sessions.session",
        "pk": "x",
        "fields": {"session_data": "", "expire_date": "2030-01-01T00:00:00Z"},
    }
    path.write_text(header + "\n" + json.dumps(session) + "\n")
    with pytest.raises(
        CommandError, match=r"'sessions\.session' is not a record the portal exports"
    ):
        call_command("import_portal", str(path), force=True)


def test_a_restore_gives_back_every_microsecond(transactional_db, tmp_path, pruning):
    """Django's JSON encoder keeps milliseconds only: 12:00:00.000412 came back as 12:00:00."""
    from datetime import UTC, datetime

    from adherence.models import Gap
    from tests.factories import GapFactory

    at = datetime(2026, 11, 2, 12, 0, 0, 412, tzinfo=UTC)
    gap = GapFactory(technique=pruning, opened_at=at, since=at.replace(microsecond=999_999))
    path = tmp_path / "portal.jsonl"
    call_command("export_portal", output=str(path), stderr=io.StringIO())
    call_command("flush", interactive=False)
    call_command("import_portal", str(path), stdout=io.StringIO())
    restored = Gap.objects.get(pk=gap.pk)
    assert (restored.opened_at, restored.since) == (at, at.replace(microsecond=999_999))


def _exported(tmp_path, change=None, *, resign=True, drop_signature=False):
    """An export of the database as it is, emptied afterwards, with ``change(records)``
    applied to its records; signed again unless told otherwise."""
    lines = list(export_lines())
    body, trailer = lines[:-1], lines[-1]
    if change:
        header, *records = (json.loads(line) for line in body)
        change(records)
        body = [json.dumps(header)] + [json.dumps(r) for r in records]
        if resign:
            trailer = json.dumps({"signature": signature(body)})
    path = tmp_path / "portal.jsonl"
    path.write_text("\n".join(body + ([] if drop_signature else [trailer])) + "\n")
    call_command("flush", interactive=False)
    return path


def _edit(model, **fields):
    def change(records):
        record = next(r for r in records if r["model"] == model)
        record["fields"].update(fields)

    return change


def _nothing_restored():
    from ops.portability import non_empty_tables

    return non_empty_tables() == []


def test_a_record_its_model_refuses_refuses_the_file_naming_its_line(
    transactional_db, tmp_path, pruning
):
    path = _exported(tmp_path, _edit("techniques.ownergroup", slug="bad slug!!"))
    with pytest.raises(CommandError, match=r"Line \d+ \(techniques\.ownergroup .*\): slug:"):
        call_command("import_portal", str(path))
    assert _nothing_restored()


def test_a_choice_the_field_lacks_refuses_the_file(transactional_db, tmp_path, pruning):
    path = _exported(tmp_path, _edit("techniques.maintainer", status="bogus"))
    with pytest.raises(CommandError, match=r"\(techniques\.maintainer .*\): status: .*bogus"):
        call_command("import_portal", str(path))
    assert _nothing_restored()


def test_a_foreign_key_to_nothing_refuses_the_file(transactional_db, tmp_path, pruning):
    path = _exported(tmp_path, _edit("techniques.technique", owner_group=987654))
    with pytest.raises(
        CommandError,
        match=r"Line \d+ \(techniques\.technique .*\): owner_group: refers to a record",
    ):
        call_command("import_portal", str(path))
    assert _nothing_restored()


def test_superusers_are_restored_only_when_asked(transactional_db, tmp_path, carol):
    path = _exported(tmp_path)
    with pytest.raises(CommandError, match=r"'carol' is a superuser.*--superusers"):
        call_command("import_portal", str(path))
    assert _nothing_restored()
    call_command("import_portal", str(path), superusers=True, stdout=io.StringIO())
    from django.contrib.auth.models import User

    assert User.objects.get(username="carol").is_superuser


def test_a_tampered_or_unsigned_export_is_refused_unless_forced(
    transactional_db, tmp_path, pruning
):
    from techniques.models import Technique

    tampered = _exported(tmp_path, _edit("techniques.technique", name="Renamed"), resign=False)
    with pytest.raises(CommandError, match=r"signature does not match.*--force"):
        call_command("import_portal", str(tampered))
    assert _nothing_restored()
    err = io.StringIO()
    call_command("import_portal", str(tampered), force=True, stdout=io.StringIO(), stderr=err)
    assert Technique.objects.get().name == "Renamed"
    assert "Restored anyway (--force)" in err.getvalue()

    unsigned = _exported(tmp_path, drop_signature=True)
    with pytest.raises(CommandError, match=r"not signed.*--force"):
        call_command("import_portal", str(unsigned))
