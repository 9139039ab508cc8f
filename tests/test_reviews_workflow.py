"""Semi-annual reviews: permissions, transitions, frozen evidence, locking, reminders, sanitizing."""

from datetime import date, datetime

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from reviews.models import ReminderSent, Review
from reviews.services import (
    Conflict,
    cycles_ensure,
    reminders_send,
    render_markdown,
    review_decide,
    review_save_draft,
    review_submit,
)
from techniques.duties import duties_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def review(pruning):
    with time_machine.travel(
        datetime(2026, 11, 23, 9, tzinfo=timezone.get_fixed_timezone(0)), tick=False
    ):
        cycle = cycles_ensure()
    return Review.objects.get(cycle=cycle, technique=pruning)


def complete(technique, rating="met"):
    return {
        "benefits_usage": "Used **widely**.",
        "major_updates": "- 2:4 sparsity",
        "self_assessment": {
            # A note on every duty: rating "met" where the portal finds it not met needs one.
            d.id: {"rating": rating, "note": "As we see it." if rating == "met" else "why"}
            for d in duties_for(technique)
        },
    }


def test_cycles_are_created_once_with_one_review_per_reviewed_technique(pruning, clustering):
    cycle = cycles_ensure(date(2026, 3, 1))
    cycles_ensure(date(2026, 4, 1))
    assert (cycle.year, cycle.half, cycle.due_date) == (2026, 1, date(2026, 6, 30))
    assert Review.objects.filter(cycle=cycle).count() == 2
    assert cycles_ensure(date(2026, 7, 1)).due_date == date(2026, 12, 31)


def test_only_owners_edit_and_nobody_decides_their_own(review, alice, bob, carol):
    with pytest.raises(PermissionDenied):
        review_save_draft(review, bob, complete(review.technique), review.version)
    with pytest.raises(PermissionDenied):
        review_save_draft(review, carol, complete(review.technique), review.version)
    review = review_save_draft(review, alice, complete(review.technique), review.version)
    review = review_submit(review, alice)
    with pytest.raises(PermissionDenied):
        review_decide(review, alice, accept=True)  # not staff, and an owner
    alice.is_staff = True
    alice.save()
    with pytest.raises(PermissionDenied):
        review_decide(review, alice, accept=True)  # staff, but owns the technique
    review_decide(review, carol, accept=True)
    assert Review.objects.get(pk=review.pk).status == "accepted"


def test_transitions_and_their_record(review, alice, carol):
    review = review_save_draft(review, alice, complete(review.technique), review.version)
    review = review_submit(review, alice)
    with pytest.raises(ValidationError, match="Say what should change"):
        review_decide(review, carol, accept=False)
    review = review_decide(
        review, carol, accept=False, comments={"benefits_usage": "Add download figures."}
    )
    assert review.status == "changes_requested"
    review = review_save_draft(review, alice, complete(review.technique), review.version)
    review = review_submit(review, alice)
    review = review_decide(review, carol, accept=True)
    with pytest.raises(PermissionDenied):
        review_save_draft(
            review, alice, complete(review.technique), review.version
        )  # accepted: frozen
    with pytest.raises(ValidationError, match="Only a submitted review"):
        review_decide(review, carol, accept=True)
    assert [(t.from_status, t.to_status) for t in review.transitions.all()] == [
        ("draft", "submitted"),
        ("submitted", "changes_requested"),
        ("changes_requested", "submitted"),
        ("submitted", "accepted"),
    ]


def test_submission_needs_every_duty_and_notes_short_of_met(review, alice):
    data = complete(review.technique, rating="partly")
    data["self_assessment"][duties_for(review.technique)[0].id]["note"] = ""
    review = review_save_draft(review, alice, data, review.version)
    with pytest.raises(ValidationError) as info:
        review_submit(review, alice)
    assert any("not fully met" in m for m in info.value.messages)
    assert Review.objects.get(pk=review.pk).status == "draft"


def test_evidence_is_frozen_at_submission(review, alice):
    from adherence.services import gaps_evaluate
    from techniques.models import Maintainer

    review = review_save_draft(review, alice, complete(review.technique), review.version)
    review = review_submit(review, alice)
    frozen = review.evidence
    assert frozen["gaps"]["available"] is False  # rules had not run: "no data", not zero
    assert "No data" in frozen["releases"]["note"]
    Maintainer.objects.filter(github_login="dave").update(status="emeritus")
    gaps_evaluate()
    assert Review.objects.get(pk=review.pk).evidence == frozen


def test_second_save_from_a_stale_version_is_a_conflict_with_both_versions(review, alice):
    stale = review.version
    review_save_draft(review, alice, {"benefits_usage": "Alice's text"}, stale)
    with pytest.raises(Conflict) as info:
        review_save_draft(review, alice, {"benefits_usage": "Dave's text"}, stale)
    assert info.value.theirs.benefits_usage == "Alice's text"
    assert info.value.mine["benefits_usage"] == "Dave's text"


def test_conflict_page_shows_both_versions(alice_client, review, alice):
    stale = review.version
    review_save_draft(review, alice, {"benefits_usage": "First save"}, stale)
    response = alice_client.post(
        f"/reviews/{review.pk}/edit",
        {"version": stale, "benefits_usage": "Second save", "action": "save"},
    )
    page = response.content.decode()
    assert response.status_code == 409
    assert (
        "Someone else saved this review" in page and "First save" in page and "Second save" in page
    )


def test_autosave_returns_the_new_version_and_409_on_conflict(alice_client, review):
    ok = alice_client.post(
        f"/reviews/{review.pk}/autosave", {"version": review.version, "benefits_usage": "draft"}
    )
    assert ok.status_code == 200 and ok.json()["version"] == review.version + 1
    stale = alice_client.post(
        f"/reviews/{review.pk}/autosave", {"version": review.version, "benefits_usage": "other"}
    )
    assert stale.status_code == 409 and stale.json()["theirs"]["benefits_usage"] == "draft"


def test_markdown_is_sanitized():
    html = render_markdown(
        "**ok** <script>alert(1)</script> <img src=x onerror=alert(1)> [x](javascript:alert(1))"
    )
    assert "<strong>ok</strong>" in html
    assert "<script" not in html and "onerror" not in html and 'href="javascript' not in html


def test_oversized_text_is_refused(review, alice):
    with pytest.raises(ValidationError, match="under 20000 characters"):
        review_save_draft(review, alice, {"benefits_usage": "x" * 20001}, review.version)


def test_reminders_due_soon_on_the_day_and_weekly_after_each_once(review):
    with time_machine.travel(
        datetime(2026, 12, 20, 8, tzinfo=timezone.get_fixed_timezone(0)), tick=False
    ):
        assert reminders_send() == 1
        assert reminders_send() == 0
    assert "due on 31 December 2026" in mail.outbox[-1].subject
    with time_machine.travel(
        datetime(2026, 12, 31, 8, tzinfo=timezone.get_fixed_timezone(0)), tick=False
    ):
        assert reminders_send() == 1 and "due today" in mail.outbox[-1].subject
    with time_machine.travel(
        datetime(2027, 1, 5, 8, tzinfo=timezone.get_fixed_timezone(0)), tick=False
    ):
        assert reminders_send() == 1 and "overdue" in mail.outbox[-1].subject
    with time_machine.travel(
        datetime(2027, 1, 7, 8, tzinfo=timezone.get_fixed_timezone(0)), tick=False
    ):
        assert reminders_send() == 0  # same week
    with time_machine.travel(
        datetime(2027, 1, 12, 8, tzinfo=timezone.get_fixed_timezone(0)), tick=False
    ):
        assert reminders_send() == 1
    assert ReminderSent.objects.filter(review=review).count() == 4


def test_shepherd_is_told_when_a_review_is_submitted(
    review, alice, carol, django_capture_on_commit_callbacks
):
    carol.email = "carol@example.org"
    carol.save()
    review.shepherd = carol
    review.save()
    review = review_save_draft(review, alice, complete(review.technique), review.version)
    with django_capture_on_commit_callbacks(execute=True):
        review_submit(review, alice)
    assert any(
        "Review submitted" in m.subject and m.to == ["carol@example.org"] for m in mail.outbox
    )


@pytest.mark.parametrize(
    ("who", "queue", "detail", "edit"),
    [
        ("anonymous", 302, 302, 302),
        ("alice", 200, 200, 200),
        ("bob", 200, 403, 403),
        ("carol", 200, 200, 403),
    ],
)
def test_page_permission_matrix(client, review, alice, bob, carol, who, queue, detail, edit):
    users = {"alice": alice, "bob": bob, "carol": carol}
    if who in users:
        client.force_login(users[who])
    assert client.get("/reviews/").status_code == queue
    assert client.get(f"/reviews/{review.pk}/").status_code == detail
    assert client.get(f"/reviews/{review.pk}/edit").status_code == edit
    before = Review.objects.get(pk=review.pk).version
    client.post(f"/reviews/{review.pk}/autosave", {"version": before, "benefits_usage": "x"})
    changed = Review.objects.get(pk=review.pk).version != before
    assert changed == (who == "alice")


def test_api_shows_drafts_only_to_owners_and_staff(client, review, alice, bob, carol):
    assert client.get("/api/reviews/").json()["count"] == 0
    client.force_login(bob)
    assert client.get("/api/reviews/").json()["count"] == 0
    client.force_login(alice)
    assert client.get(f"/api/reviews/{review.pk}/").json()["version"] == review.version
    client.force_login(carol)
    assert client.get("/api/reviews/").json()["count"] == 1
    assert client.post("/api/reviews/", {}).status_code == 405


def test_accepted_review_shows_on_the_technique_page(client, review, alice, carol):
    review = review_save_draft(review, alice, complete(review.technique), review.version)
    review_decide(review_submit(review, alice), carol, accept=True)
    page = client.get("/techniques/pruning/").content.decode()
    assert "Last semi-annual review" in page and "<strong>widely</strong>" in page


def test_queue_query_count_is_bounded(carol_client, review, query_counts):
    from tests.factories import TechniqueFactory

    def read():
        assert carol_client.get("/reviews/").status_code == 200

    small, large = query_counts(TechniqueFactory.create_batch, read, at_most=15)
    assert large - small <= 1  # the second call creates the new reviews in one insert


def test_queue_lists_yours_first_then_the_late_ones(client, alice, pruning, clustering):
    from tests.factories import TechniqueFactory

    extra = TechniqueFactory(slug="aaa-extra", name="AAA extra", owner_group=clustering.owner_group)
    with time_machine.travel(datetime(2026, 3, 1, tzinfo=timezone.get_fixed_timezone(0))):
        cycle = cycles_ensure()
    Review.objects.filter(cycle=cycle, technique=extra).update(status=Review.Status.ACCEPTED)
    client.force_login(alice)  # owns pruning
    with time_machine.travel(datetime(2026, 7, 20, tzinfo=timezone.get_fixed_timezone(0))):
        page = client.get("/reviews/", {"cycle": cycle.pk}).content.decode()
        late_only = client.get("/reviews/", {"cycle": cycle.pk, "overdue": 1}).content.decode()
    page, late_only = (html.split("<main", 1)[1] for html in (page, late_only))  # not the nav
    # Alice's pruning first, then clustering (late), then the accepted one (on time).
    assert page.index(pruning.name) < page.index(clustering.name) < page.index(extra.name)
    assert "20 days" in page
    assert extra.name not in late_only and clustering.name in late_only


def test_the_team_decides_from_the_review_page(client, review, alice, carol):
    """The decision form on the review page: a request for changes needs a comment (the
    refusal is said), then the team's comment and the new status are what the page says."""
    review_submit(
        review_save_draft(review, alice, complete(review.technique), review.version), alice
    )
    client.force_login(carol)
    url = f"/reviews/{review.pk}/decide"
    page = client.post(url, {"decision": "changes"}, follow=True).content.decode()
    assert "Say what should change" in page
    assert Review.objects.get(pk=review.pk).status == "submitted"

    comment = {"decision": "changes", "comment-benefits_usage": "Add download figures."}
    page = client.post(url, comment, follow=True).content.decode()
    assert "Weight pruning (" in page and "): changes requested." in page
    assert Review.objects.get(pk=review.pk).status == "changes_requested"
    assert "Add download figures." in page


def test_the_decision_names_the_duties_the_owners_rate_better_than_the_portal(
    client, review, alice, carol
):
    """Accepting a review that rates a duty "met" where the portal finds it not met: the
    disagreement stands beside the buttons, with the portal's finding and its evidence."""
    from adherence.engine import Status
    from tests.factories import GapFactory, RuleResultFactory

    pruning = review.technique
    RuleResultFactory(technique=pruning, rule_id="technique-label", status=Status.PASS)
    RuleResultFactory(
        technique=pruning,
        rule_id="questions-answered",
        summary="1 issue waited 20 days for a first response.",
        links=[{"title": "#6 crash on shared layers", "url": "https://github.com/x/y/issues/6"}],
    )
    gap = GapFactory(technique=pruning, rule_id="questions-answered")
    data = complete(pruning)
    data["self_assessment"]["answer-questions"]["note"] = "We answered it on the mailing list."
    review_submit(review_save_draft(review, alice, data, review.version), alice)
    client.force_login(carol)
    page = client.get(f"/reviews/{review.pk}/").content.decode()
    decision = page.split('id="decide-h"')[1].split("</section>")[0]
    assert decision.index('id="disagreements"') < decision.index('value="accept"')
    box = decision.split('id="disagreements"')[1].split("</div>")[0]
    assert "The owners rate 1 duty better than the portal finds" in box
    assert "Answer questions in issues" in box and ">Met<" in box and ">Not met<" in box
    assert "1 issue waited 20 days" in box and gap.get_absolute_url() in box
    assert "https://github.com/x/y/issues/6" in box and "mailing list" in box
    assert "Has its own GitHub label" not in box  # the owners and the portal agree
