"""export_portal / import_portal: a round trip of the demo restores every record."""

import io
import json

import pytest
from django.core.management import CommandError, call_command

from ops.portability import LEFT_OUT, export_lines


def _records(lines):
    header, *records = lines
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
    call_command("import_portal", str(path), stdout=out)
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
        call_command("import_portal", str(path))


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
        call_command("import_portal", str(path))


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
