"""Remediation with due dates: a due date and an assignee on a gap, campaigns of one rule
across techniques, what owners and staff see of them (landing, matrix, CSV, digest), the
burn-down; owners' waiver requests decided by staff; the TOS queue; the rule pages."""

import csv
import io
from datetime import timedelta

import pytest
from auditlog.models import LogEntry
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from adherence.models import Gap, GapEvent, Remediation, WaiverRequest
from adherence.permissions import DECIDE_WAIVER
from adherence.selectors import campaign_burndown, rule_history
from adherence.services import (
    campaign_create,
    digest_send,
    remediation_set,
    waiver_request_decide,
    waiver_request_submit,
)
from techniques.models import Maintainer
from tests.factories import (
    CampaignFactory,
    GapFactory,
    RemediationFactory,
    RuleResultFactory,
    TechniqueFactory,
    TOSChangeRequestFactory,
    WaiverRequestFactory,
)

pytestmark = pytest.mark.django_db


def section(page: str, key: str) -> str:
    return page.split(f'id="{key}"')[1].split("</section>")[0]


@pytest.fixture
def gap(pruning):
    return GapFactory(
        technique=pruning,
        rule_id="training-speed-test",
        severity="medium",
        since=timezone.now() - timedelta(days=40),
    )


def _maintainer(technique, login):
    return Maintainer.objects.get(group=technique.owner_group, github_login=login)


# --- due dates and assignees on a gap ------------------------------------------------


def test_staff_set_a_due_date_and_an_assignee_recorded_in_history_and_audit(gap, carol, pruning):
    due = timezone.localdate() + timedelta(days=30)
    remediation_set(gap, carol, due, _maintainer(pruning, "dave"), "Before the release.")
    gap = Gap.objects.with_due().get(pk=gap.pk)
    assert gap.due == due and gap.remediation.assignee.github_login == "dave"
    event = gap.events.get(kind=GapEvent.Kind.DUE_SET)
    assert event.by == carol and f"Due {due.isoformat()}, assigned to @dave" in event.note
    assert LogEntry.objects.get_for_object(gap.remediation).exists()
    # Changing it keeps one remediation, and the history both.
    remediation_set(gap, carol, due + timedelta(days=7), _maintainer(pruning, "alice"))
    assert Remediation.objects.filter(gap=gap).count() == 1
    assert gap.events.filter(kind=GapEvent.Kind.DUE_SET).count() == 2


def test_a_due_date_in_the_past_or_an_assignee_who_does_not_maintain_it_is_refused(
    gap, carol, pruning, clustering
):
    today = timezone.localdate()
    with pytest.raises(ValidationError) as past:
        remediation_set(gap, carol, today - timedelta(days=1), _maintainer(pruning, "alice"))
    assert past.value.message_dict["due_on"] == ["The due date cannot be in the past."]
    with pytest.raises(ValidationError) as stranger:
        remediation_set(gap, carol, today, _maintainer(clustering, "bob"))
    assert "@bob does not maintain Weight pruning" in stranger.value.message_dict["assignee"][0]
    dave = _maintainer(pruning, "dave")
    dave.status = Maintainer.Status.EMERITUS
    dave.save()
    with pytest.raises(ValidationError):
        remediation_set(gap, carol, today, dave)
    assert not Remediation.objects.exists()


def test_owners_cannot_set_due_dates_and_the_page_offers_them_no_form(
    client, gap, alice, carol, pruning
):
    with pytest.raises(PermissionDenied):
        remediation_set(gap, alice, timezone.localdate(), _maintainer(pruning, "alice"))
    action = f'action="/adherence/gaps/{gap.pk}/remediation"'
    client.force_login(alice)
    assert action not in client.get(gap.get_absolute_url()).content.decode()
    assert client.post(f"/adherence/gaps/{gap.pk}/remediation", {}).status_code == 403
    client.force_login(carol)
    assert action in client.get(gap.get_absolute_url()).content.decode()


def test_a_refused_due_date_comes_back_as_typed_with_a_400(client, gap, carol, pruning):
    client.force_login(carol)
    yesterday = (timezone.localdate() - timedelta(days=1)).isoformat()
    response = client.post(
        f"/adherence/gaps/{gap.pk}/remediation",
        {"due_on": yesterday, "assignee": _maintainer(pruning, "alice").pk, "note": "kept"},
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert "The due date cannot be in the past." in page
    assert f'value="{yesterday}"' in page and 'value="kept"' in page


# --- campaigns -----------------------------------------------------------------------


def test_a_campaign_dates_every_gap_of_its_rule_on_its_techniques_present_and_future(
    gap, carol, pruning, clustering
):
    due = timezone.localdate() + timedelta(days=90)
    campaign = campaign_create(
        carol, "Speed tests everywhere", "training-speed-test", due, "production"
    )
    research = GapFactory(technique=clustering, rule_id="training-speed-test")
    later = GapFactory(technique=TechniqueFactory(), rule_id="training-speed-test")
    other_rule = GapFactory(technique=pruning, rule_id="two-maintainers")
    dues = dict(Gap.objects.with_due().values_list("pk", "due"))
    assert dues[gap.pk] == due and dues[later.pk] == due  # present, and opened after it
    assert dues[research.pk] is None and dues[other_rule.pk] is None  # not targeted
    # The gap's own date wins over the campaign's.
    own = timezone.localdate() + timedelta(days=10)
    RemediationFactory(gap=gap, due_on=own)
    assert Gap.objects.with_due().get(pk=gap.pk).due == own
    assert campaign.gaps().count() == 2


def test_a_campaign_needs_a_rule_a_title_and_a_date_not_past(carol, alice):
    with pytest.raises(PermissionDenied):
        campaign_create(alice, "Mine", "training-speed-test", timezone.localdate())
    with pytest.raises(ValidationError) as refused:
        campaign_create(carol, " ", "no-such-rule", timezone.localdate() - timedelta(days=1))
    assert set(refused.value.message_dict) == {"title", "rule_id", "due_on"}


def test_the_team_starts_a_campaign_from_its_page(client, carol, alice):
    client.force_login(alice)
    assert "Start a campaign" not in client.get("/adherence/campaigns/").content.decode()
    assert "No campaign yet." in client.get("/adherence/campaigns/").content.decode()
    assert client.post("/adherence/campaigns/new", {}).status_code == 403
    client.force_login(carol)
    due = (timezone.localdate() + timedelta(days=60)).isoformat()
    response = client.post(
        "/adherence/campaigns/new",
        {"title": "Speed tests", "rule_id": "training-speed-test", "tos_level": "", "due_on": due},
    )
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "Speed tests" in page and due in page
    refused = client.post("/adherence/campaigns/new", {"title": "Kept", "rule_id": "x"})
    assert refused.status_code == 400 and 'value="Kept"' in refused.content.decode()


def test_the_burn_down_counts_open_items_from_since_and_done_ones_from_resolution(
    client, pruning, carol
):
    now = timezone.now()
    campaign = CampaignFactory(created_at=now - timedelta(days=20), tos_level="")
    GapFactory(
        technique=pruning,
        rule_id=campaign.rule_id,
        since=now - timedelta(days=40),
        opened_at=now - timedelta(days=25),
        state="resolved",
        resolved_at=now - timedelta(days=5),
    )
    GapFactory(
        technique=TechniqueFactory(),
        rule_id=campaign.rule_id,
        since=now - timedelta(days=10),
        opened_at=now - timedelta(days=10),
    )
    # Resolved before the campaign began: not one of its items.
    GapFactory(
        technique=TechniqueFactory(),
        rule_id=campaign.rule_id,
        opened_at=now - timedelta(days=60),
        state="resolved",
        resolved_at=now - timedelta(days=30),
    )
    points = campaign_burndown(campaign, now)
    assert points[0][1:] == (1, 0)  # at the start: the first one open
    assert points[-1][1:] == (1, 1)  # now: one open, one done
    middle = [p for p in points if now - timedelta(days=9) <= p[0] <= now - timedelta(days=6)]
    assert middle and all(p[1:] == (2, 0) for p in middle)
    client.force_login(carol)
    page = client.get(campaign.get_absolute_url()).content.decode()
    assert "<polyline" in page and page.count('class="series"') == 2
    assert "<script" not in page.split("<main")[1]
    assert "now 1 open, 1 done" in page


# --- what owners and staff see ---------------------------------------------------------


def test_owners_see_their_due_items_and_staff_the_overdue_ones(client, gap, pruning, carol, alice):
    late = GapFactory(technique=pruning, rule_id="two-maintainers")
    RemediationFactory(gap=gap, due_on=timezone.localdate() + timedelta(days=5))
    RemediationFactory(
        gap=late,
        due_on=timezone.localdate() - timedelta(days=2),
        assignee=_maintainer(pruning, "dave"),
    )
    client.force_login(alice)
    due = section(client.get("/me/").content.decode(), "your-due-items")
    assert '<span class="count-badge nonzero">2</span>' in due
    assert due.index("overdue: due") < due.index(f"due {gap.remediation.due_on:%-d %b %Y}")
    assert "· @dave" in due and "status-fail" in due and "status-warn" in due
    client.force_login(carol)
    overdue = section(client.get("/me/").content.decode(), "overdue-remediation")
    assert '<span class="count-badge nonzero">1</span>' in overdue
    assert f'href="/adherence/gaps/{late.pk}/"' in overdue
    assert f'href="/adherence/gaps/{gap.pk}/"' not in overdue


def test_an_empty_overdue_card_says_so(carol_client):
    overdue = section(carol_client.get("/me/").content.decode(), "overdue-remediation")
    assert "No remediation is overdue." in overdue


def test_the_digest_has_a_line_for_overdue_remediation(settings, gap, carol, pruning):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    carol.email = "carol@example.org"
    carol.save()
    RemediationFactory(gap=gap, due_on=timezone.localdate() - timedelta(days=3))
    assert digest_send()
    body = mail.outbox[-1].body
    assert "1 remediation item overdue:" in body
    assert f"Weight pruning: training-speed-test, due {gap.remediation.due_on:%Y-%m-%d}" in body


def test_the_matrix_and_its_csv_show_due_dates_and_who_is_responsible(client, gap, pruning, alice):
    RuleResultFactory(technique=pruning, rule_id="training-speed-test", status="fail")
    due = timezone.localdate() + timedelta(days=12)
    RemediationFactory(gap=gap, due_on=due, assignee=_maintainer(pruning, "dave"))
    client.force_login(alice)
    page = client.get("/adherence/").content.decode()
    assert f'<span class="due">due {due:%-d %b}</span>' in page
    assert f"Due {due:%Y-%m-%d}." in page
    response = client.get("/adherence/matrix.csv?rule=training-speed-test")
    header, row = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    cells = dict(zip(header, row, strict=True))
    assert cells["training-speed-test since"] == gap.since.isoformat()
    assert cells["training-speed-test assignee"] == "'@dave"  # formula-safe, as every cell
    assert cells["training-speed-test group"] == "TensorFlow Model Optimization"
    assert cells["training-speed-test due"] == due.isoformat()


def test_the_matrix_header_and_the_health_page_link_each_rule_page(client, alice, pruning):
    client.force_login(alice)
    assert 'href="/adherence/rules/owner-group/"' in client.get("/adherence/").content.decode()
    assert 'href="/adherence/rules/owner-group/"' in client.get("/health/").content.decode()


# --- waiver requests ---------------------------------------------------------------------


def test_an_owner_requests_a_waiver_and_staff_approve_it(gap, alice, bob, carol):
    until = timezone.localdate() + timedelta(days=30)
    with pytest.raises(PermissionDenied):
        waiver_request_submit(gap, bob, "Not mine.", until)
    with pytest.raises(PermissionDenied):
        waiver_request_submit(gap, carol, "Staff waive directly.", until)
    request = waiver_request_submit(gap, alice, "The runner moves in January.", until)
    with pytest.raises(ValidationError, match="already waits"):
        waiver_request_submit(gap, alice, "Again.", until)
    assert gap.events.filter(kind=GapEvent.Kind.WAIVER_REQUESTED, by=alice).exists()
    waiver_request_decide(request, carol, approve=True)
    gap.refresh_from_db()
    assert gap.state == Gap.State.WAIVED and gap.waived_until == until
    assert gap.waiver_reason == "The runner moves in January." and gap.waived_by == carol
    assert WaiverRequest.objects.get(pk=request.pk).status == WaiverRequest.Status.APPROVED


def test_a_rejection_needs_a_comment_that_the_history_keeps(gap, alice, carol):
    request = WaiverRequestFactory(gap=gap, requested_by=alice)
    with pytest.raises(ValidationError) as refused:
        waiver_request_decide(request, carol, approve=False, comment="  ")
    assert "comment" in refused.value.message_dict
    waiver_request_decide(request, carol, approve=False, comment="Fix it this quarter.")
    gap.refresh_from_db()
    assert gap.state == Gap.State.OPEN
    assert gap.events.get(kind=GapEvent.Kind.WAIVER_REFUSED).note == "Fix it this quarter."


def test_a_waiver_request_is_refused_with_a_past_date_or_on_a_waived_gap(gap, alice):
    with pytest.raises(ValidationError) as past:
        waiver_request_submit(gap, alice, "Reason.", timezone.localdate())
    assert past.value.message_dict["until"] == ["The end date must be in the future."]
    gap.state = Gap.State.WAIVED
    gap.save()
    with pytest.raises(ValidationError, match="Only an open or acknowledged gap"):
        waiver_request_submit(gap, alice, "Reason.", timezone.localdate() + timedelta(days=5))


def test_nobody_decides_a_waiver_request_of_their_own(gap, carol):
    request = WaiverRequestFactory(gap=gap, requested_by=carol)
    with pytest.raises(PermissionDenied) as refused:
        waiver_request_decide(request, carol, approve=True)
    assert str(refused.value) == DECIDE_WAIVER.refusal


def test_the_waiver_queue_is_a_staff_landing_card_and_page(client, gap, alice, carol):
    client.force_login(carol)
    empty = section(client.get("/me/").content.decode(), "waiver-requests")
    assert "No waiver request waits for a decision." in empty
    assert "No waiver request waits" in client.get("/adherence/waiver-requests/").content.decode()
    request = WaiverRequestFactory(gap=gap, requested_by=alice)
    card = section(client.get("/me/").content.decode(), "waiver-requests")
    assert f'href="/adherence/waiver-requests/#waiver-{request.pk}"' in card
    page = client.get("/adherence/waiver-requests/").content.decode()
    assert f'action="/adherence/waiver-requests/{request.pk}/decide"' in page
    refused = client.post(f"/adherence/waiver-requests/{request.pk}/decide", {"approve": "no"})
    assert refused.status_code == 400 and "a comment is required" in refused.content.decode()
    client.force_login(alice)
    assert client.get("/adherence/waiver-requests/").status_code == 403


# --- the TOS queue ----------------------------------------------------------------------


def test_pending_tos_changes_are_a_staff_card_and_a_queue_page(client, carol, alice):
    client.force_login(carol)
    assert "No TOS change waits" in section(client.get("/me/").content.decode(), "tos-requests")
    change = TOSChangeRequestFactory(requested_by=alice)
    own = TOSChangeRequestFactory(requested_by=carol)
    card = section(client.get("/me/").content.decode(), "tos-requests")
    assert '<span class="count-badge nonzero">2</span>' in card
    page = client.get("/lifecycle/tos-requests/").content.decode()
    assert f'action="/lifecycle/tos-requests/{change.pk}/decide"' in page
    assert f'action="/lifecycle/tos-requests/{own.pk}/decide"' not in page  # her own
    response = client.post(
        f"/lifecycle/tos-requests/{change.pk}/decide", {"approve": "yes", "back": "queue"}
    )
    assert response.status_code == 302 and response["Location"] == "/lifecycle/tos-requests/"
    page = client.get("/lifecycle/tos-requests/").content.decode()
    assert "Approved" in page.split('id="decided-h"')[1]
    client.force_login(alice)
    assert client.get("/lifecycle/tos-requests/").status_code == 403


# --- rule pages ------------------------------------------------------------------------


def test_a_rule_page_shows_how_many_techniques_met_it_over_time_with_its_fix(client, pruning):
    now = timezone.now()
    other = TechniqueFactory()
    for technique in (pruning, other):
        RuleResultFactory(technique=technique, rule_id="owner-group", status="pass")
    GapFactory(
        technique=other,
        rule_id="owner-group",
        since=now - timedelta(days=50),
        opened_at=now - timedelta(days=50),
        state="resolved",
        resolved_at=now - timedelta(days=20),
    )
    history = rule_history("owner-group", weeks=10, now=now)
    assert history["applicable"] == 2
    met = {at.date(): m for at, m, _ in history["points"]}
    assert met[(now - timedelta(weeks=5)).date()] == 1  # other was failing then
    assert met[now.date()] == 2
    page = client.get("/adherence/rules/owner-group/").content.decode()
    assert "Name an owner group for the technique" in page  # its fix
    assert "<polyline" in page and "now 2" in page
    assert client.get("/adherence/rules/no-such-rule/").status_code == 404


def test_signed_in_people_see_who_misses_a_rule_now(client, gap, alice):
    assert (
        "Missing it now" not in client.get("/adherence/rules/training-speed-test/").content.decode()
    )
    client.force_login(alice)
    page = client.get("/adherence/rules/training-speed-test/").content.decode()
    assert f'href="/adherence/gaps/{gap.pk}/"' in page


def test_staff_sees_the_new_pages_in_the_navigation(client, carol):
    client.force_login(carol)
    page = client.get("/me/").content.decode()
    for url in ("/adherence/campaigns/", "/adherence/waiver-requests/", "/lifecycle/tos-requests/"):
        assert f'href="{url}"' in page
