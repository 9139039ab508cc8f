"""The audit trail records who changed ownership and TOS, waivers and tokens."""

from datetime import timedelta

import pytest
from auditlog.models import LogEntry

from tests.factories import GapFactory, OwnerGroupFactory

pytestmark = pytest.mark.django_db


def test_admin_edit_of_tos_and_owner_group_is_audited_with_actor(carol_client, carol, pruning):
    other = OwnerGroupFactory(name="Arm ML Tooling")
    data = {
        "name": pruning.name,
        "slug": pruning.slug,
        "category": pruning.category,
        "summary": "",
        "public_api": pruning.public_api,
        "module_path": "",
        "owner_group": other.pk,
        "tos_level": "research",
        "tos_rationale": "",
        "stage": "launched",
        "launch_date": pruning.launch_date.isoformat(),
        "launch_release": "",
        "github_labels": "technique:pruning",
        "path_globs": "tensorflow_model_optimization/pruning/",
        "overview_url": "",
        "support_scope": "",
        "api_tests_confirmed_on": "",
        "changes-TOTAL_FORMS": "0",
        "changes-INITIAL_FORMS": "0",
    }
    response = carol_client.post(f"/admin/techniques/technique/{pruning.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    entry = LogEntry.objects.get_for_object(pruning).latest("timestamp")
    assert entry.actor == carol
    assert entry.changes_dict["tos_level"] == ["production", "research"]
    assert entry.changes_dict["owner_group"][1] == str(other.pk)
    page = carol_client.get("/audit/?model=technique").content.decode()
    assert "TOS level" in page and "Research" in page  # in words, not stored values
    assert other.name in page and f"→ {other.pk}<" not in page
    assert pruning.changes.filter(field="tos_level", changed_by=carol).exists()


def test_waivers_and_token_revocations_are_audited(carol, pruning):
    from django.utils import timezone

    from adherence.services import gap_waive
    from convergence.models import CIToken

    gap = GapFactory(technique=pruning)
    gap_waive(gap, carol, "reason", timezone.now().date() + timedelta(days=30))
    assert "waiver_reason" in LogEntry.objects.get_for_object(gap).latest("timestamp").changes_dict
    token, _ = CIToken.issue("ci", carol)
    token.revoked_at = timezone.now()
    token.save()
    changes = LogEntry.objects.get_for_object(token).latest("timestamp").changes_dict
    assert "revoked_at" in changes and "token_hash" not in changes


def test_the_trail_filters_by_person_and_technique_and_shows_times_to_the_minute(
    carol_client, carol, alice, pruning, clustering
):
    from auditlog.context import set_actor
    from django.utils import timezone

    from adherence.services import gap_acknowledge, gap_waive
    from tests.factories import WaiverRequestFactory

    pruning_gap, clustering_gap = GapFactory(technique=pruning), GapFactory(technique=clustering)
    with set_actor(carol):
        gap_waive(
            clustering_gap, carol, "Agreed at the sync.", timezone.now().date() + timedelta(days=9)
        )
    with set_actor(alice):
        gap_acknowledge(pruning_gap, alice, "On it.")
        request = WaiverRequestFactory(gap=pruning_gap, requested_by=alice)
    by_alice = carol_client.get("/audit/?actor=alice").content.decode()
    assert "On it." in by_alice and "Agreed at the sync." not in by_alice
    of_clustering = carol_client.get("/audit/?technique=clustering").content.decode()
    assert "Agreed at the sync." in of_clustering and "On it." not in of_clustering
    of_pruning = carol_client.get("/audit/?technique=pruning&actor=alice").content.decode()
    assert "On it." in of_pruning and "waiver request" in of_pruning
    # Times read as the pages show them: to the minute, never microseconds.
    stamp = timezone.localtime(request.requested_at).strftime("%Y-%m-%d %H:%M")
    assert stamp in of_pruning and f"{request.requested_at:%S.%f}" not in of_pruning
    # An unknown filter value shows everything and says why.
    page = carol_client.get("/audit/?actor=nobody").content.decode()
    assert "Showing everything" in page and "Agreed at the sync." in page and "On it." in page
