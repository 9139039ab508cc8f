"""Gap lifecycle, actions and their permissions, notifications, pages, API."""

from datetime import datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from adherence.models import Gap, Notification
from adherence.services import gap_acknowledge, gap_waive, gaps_evaluate, gaps_notify
from techniques.models import Maintainer
from tests.factories import MaintainerFactory, TechniqueFactory

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 3, 2, 9, tzinfo=timezone.get_fixed_timezone(0))


def gap_of(technique, rule_id="two-maintainers"):
    return Gap.objects.unresolved().get(technique=technique, rule_id=rule_id)


def test_lifecycle_open_acknowledge_waive_expire_resolve_reopen(lonely, alice, carol):
    with time_machine.travel(T0, tick=False):
        gaps_evaluate()
        gap = gap_of(lonely)
        assert gap.state == "open" and gap.opened_at == T0
        gaps_evaluate()  # running twice changes nothing
        assert Gap.objects.filter(technique=lonely, rule_id="two-maintainers").count() == 1

    with time_machine.travel(T0 + timedelta(days=2), tick=False):
        gap_acknowledge(gap, alice, "Recruiting a second maintainer.")
        assert gap_of(lonely).state == "acknowledged"

    with time_machine.travel(T0 + timedelta(days=3), tick=False):
        gap_waive(gap, carol, "Agreed grace period.", (T0 + timedelta(days=10)).date())
        gaps_evaluate()
        assert gap_of(lonely).state == "waived"

    with time_machine.travel(T0 + timedelta(days=11), tick=False):
        gaps_evaluate()
        gap.refresh_from_db()
        assert gap.state == "open"  # the waiver expired: the gap returns
        assert list(gap.events.values_list("kind", flat=True)) == [
            "opened",
            "acknowledged",
            "waived",
            "waiver_expired",
        ]

    with time_machine.travel(T0 + timedelta(days=20), tick=False):
        Maintainer.objects.filter(github_login="dave").update(status="active")
        gaps_evaluate()
        gap.refresh_from_db()
        assert gap.state == "resolved" and gap.resolved_at == T0 + timedelta(days=20)
        assert gap.days_open() == 20

    with time_machine.travel(T0 + timedelta(days=30), tick=False):
        Maintainer.objects.filter(github_login="dave").update(status="emeritus")
        gaps_evaluate()
        reopened = gap_of(lonely)
        assert reopened.pk != gap.pk and reopened.opened_at == T0 + timedelta(days=30)
        assert Gap.objects.get(pk=gap.pk).state == "resolved"  # history kept


def test_acknowledge_needs_owner_or_staff_and_a_note(lonely, alice, bob, carol):
    gaps_evaluate()
    gap = gap_of(lonely)
    with pytest.raises(PermissionDenied):
        gap_acknowledge(gap, bob, "not mine")
    with pytest.raises(ValidationError, match="note is required"):
        gap_acknowledge(gap, alice, "   ")
    gap_acknowledge(gap, carol, "Team is on it.")


def test_waive_is_staff_only_with_reason_and_future_end_date(lonely, alice, carol):
    gaps_evaluate()
    gap = gap_of(lonely)
    with pytest.raises(PermissionDenied):
        gap_waive(gap, alice, "mine", timezone.now().date() + timedelta(days=5))
    with pytest.raises(ValidationError) as info:
        gap_waive(gap, carol, "", timezone.now().date())
    assert set(info.value.message_dict) == {"reason", "until"}
    assert gap_of(lonely).state == "open"


def test_owners_are_emailed_once_when_a_gap_opens(lonely, settings):
    settings.GAP_WEBHOOK_URL = ""
    Maintainer.objects.filter(github_login="alice").update(email="alice@example.org")
    Maintainer.objects.filter(github_login="dave").update(email="dave@example.org")  # emeritus
    summary = gaps_evaluate()
    opened = [g for g in summary.opened if g.rule_id == "two-maintainers"]
    gaps_notify(opened, [])
    gaps_notify(opened, [])
    messages = [m for m in mail.outbox if "2+ active maintainers" in m.subject]
    assert len(messages) == 1
    assert messages[0].to == ["alice@example.org", "tf-mot@example.org"]  # active and the list
    assert Notification.objects.filter(key__startswith=f"gap-{opened[0].pk}-opened").count() == 1


def test_dashboard_needs_sign_in_and_shows_cells_as_text(client, alice, lonely):
    gaps_evaluate()
    assert client.get("/adherence/").status_code == 302
    client.force_login(alice)
    page = client.get("/adherence/").content.decode()
    # The days count from when the duty was first missed (here: since the launch).
    days = (timezone.now().date() - lonely.launch_date).days
    assert f"✗ {days}d" in page and "✓" in page and "not applicable" in page  # N/A stays quiet
    assert "✗ 0d" not in page


def test_matrix_sorts_by_the_stored_health_level(alice_client, pruning, clustering):
    from techniques.models import HealthLevel, Technique

    Technique.objects.filter(pk=pruning.pk).update(
        health_level=HealthLevel.TROUBLE, health_points=40
    )
    Technique.objects.filter(pk=clustering.pk).update(
        health_level=HealthLevel.MINOR, health_points=3
    )

    def order(url):
        page = alice_client.get(url).content.decode()
        rows = [f'title="{t.name}"' for t in (pruning, clustering)]
        return sorted(rows, key=page.index)

    # Worst first: pruning, in trouble, before clustering's minor gaps; by name otherwise.
    assert order("/adherence/?sort=health") == [
        f'title="{pruning.name}"',
        f'title="{clustering.name}"',
    ]
    assert order("/adherence/") == [f'title="{clustering.name}"', f'title="{pruning.name}"']
    assert "In trouble" in alice_client.get("/adherence/").content.decode()


def test_dashboard_query_count_does_not_grow(alice_client, pruning, query_counts):
    def grow(size):
        for _ in range(size):
            MaintainerFactory(group=TechniqueFactory().owner_group)
        gaps_evaluate()

    def read():
        assert alice_client.get("/adherence/?sort=most").status_code == 200

    small, large = query_counts(grow, read, at_most=9, sizes=(3, 25))
    assert small == large


def test_gap_page_actions_respect_permissions(client, lonely, alice, bob, carol):
    gaps_evaluate()
    gap = gap_of(lonely)
    client.force_login(bob)
    assert client.post(f"/adherence/gaps/{gap.pk}/acknowledge", {"note": "x"}).status_code == 403
    assert (
        client.post(
            f"/adherence/gaps/{gap.pk}/waive", {"reason": "x", "until": "2099-01-01"}
        ).status_code
        == 403
    )
    client.force_login(alice)
    page = client.get(f"/adherence/gaps/{gap.pk}/").content.decode()
    assert "Acknowledge gap" in page and "Waive gap" not in page
    response = client.post(f"/adherence/gaps/{gap.pk}/acknowledge", {"note": ""}, follow=True)
    assert "This field is required" in response.content.decode()
    assert gap_of(lonely).state == "open"
    client.post(f"/adherence/gaps/{gap.pk}/acknowledge", {"note": "<script>alert(1)</script>"})
    assert gap_of(lonely).state == "acknowledged"
    page = client.get(f"/adherence/gaps/{gap.pk}/").content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # shown, as text
    client.force_login(carol)
    response = client.post(
        f"/adherence/gaps/{gap.pk}/waive", {"reason": "ok", "until": "2000-01-01"}, follow=True
    )
    assert "must be in the future" in response.content.decode()
    soon = (timezone.now().date() + timedelta(days=30)).isoformat()
    client.post(f"/adherence/gaps/{gap.pk}/waive", {"reason": "ok", "until": soon})
    assert gap_of(lonely).state == "waived"


def test_a_refused_waiver_or_acknowledgement_keeps_what_was_typed(client, lonely, alice, carol):
    gaps_evaluate()
    gap = gap_of(lonely)
    client.force_login(carol)
    reason = "Owners are hiring; agreed at the TFMOT sync on Tuesday."
    response = client.post(
        f"/adherence/gaps/{gap.pk}/waive", {"reason": reason, "until": "2000-01-01"}
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert "must be in the future" in page
    assert reason in page and 'value="2000-01-01"' in page  # the form as it was sent
    client.force_login(alice)
    note = "n" * 2001  # one character too many
    response = client.post(f"/adherence/gaps/{gap.pk}/acknowledge", {"note": note})
    assert response.status_code == 400 and note in response.content.decode()
    assert gap_of(lonely).state == "open"


def test_public_summary_on_the_technique_page_hides_internal_notes(client, lonely, alice):
    gaps_evaluate()
    gap_acknowledge(gap_of(lonely), alice, "secret internal plan")
    page = client.get("/techniques/pruning/").content.decode()
    assert "checked duties met" in page
    assert "Owned by a named group of 2+ maintainers" in page
    assert "secret internal plan" not in page


def test_badge_is_svg_with_health_and_cache_headers(client, lonely):
    gaps_evaluate()
    response = client.get("/badges/pruning.svg")
    assert response["Content-Type"] == "image/svg+xml"
    assert "max-age=300" in response["Cache-Control"]
    body = response.content.decode()
    lonely.refresh_from_db()
    assert "production TOS" in body and f"in trouble ({lonely.health_points} pts)" in body
    assert client.get("/badges/pruning.svg", HTTP_IF_NONE_MATCH=response["ETag"]).status_code == 304
    assert client.get("/badges/nope.svg").status_code == 404


def test_feed_and_api_hide_internals_from_the_public(client, lonely, alice, carol):
    gaps_evaluate()
    gap_acknowledge(gap_of(lonely), alice, "secret internal plan")
    feed = client.get("/adherence/feed.atom")
    assert feed["Content-Type"].startswith("application/atom+xml")
    assert "secret internal plan" not in feed.content.decode()
    public = client.get("/api/gaps/?technique=pruning").json()["results"][0]
    assert "acknowledge_note" not in public and "evidence" not in public
    client.force_login(carol)
    staff = client.get("/api/gaps/?technique=pruning&rule_id=two-maintainers").json()["results"][0]
    assert staff["acknowledge_note"] == "secret internal plan"
    assert client.post("/api/gaps/", {}).status_code == 405


def test_trend_counts_open_gaps_and_median_time_to_close(alice_client, lonely):
    with time_machine.travel(timezone.now() - timedelta(days=14), tick=False):
        gaps_evaluate()
    Maintainer.objects.filter(github_login="dave").update(status="active")
    gaps_evaluate()
    page = alice_client.get("/adherence/trend/").content.decode()
    assert "Median time to close a gap" in page and "14.0 days" in page


def test_a_gaps_figures_read_as_a_labelled_list_not_a_python_dict(carol_client, pruning):
    from tests.factories import GapFactory

    gap = GapFactory(
        technique=pruning,
        rule_id="questions-answered",
        evidence={
            "issues": [
                {
                    "url": "https://github.com/x/y/issues/6",
                    "title": "Crash on <shared> layers",
                    "number": 6,
                    "created_at": "2026-11-17T09:17:00+00:00",
                    "waiting_days": 20,
                }
            ],
            "threshold_days": 14,
        },
    )
    page = carol_client.get(gap.get_absolute_url()).content.decode()
    figures = page.split("<summary>Figures</summary>")[1].split("</details>")[0]
    assert "{'" not in figures and "[{" not in figures
    assert "<dt>Threshold days</dt><dd>14</dd>" in figures
    assert '<th scope="col">Waiting days</th>' in figures
    assert '<a href="https://github.com/x/y/issues/6">Crash on &lt;shared&gt; layers</a>' in figures
    created = timezone.localtime(datetime.fromisoformat("2026-11-17T09:17:00+00:00"))
    assert f"<td>{created:%Y-%m-%d %H:%M}</td>" in figures
