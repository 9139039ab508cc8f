"""Form posts with hostile values: permission checked first, then a 400 (never a 500);
free text that is only control characters is refused; waivers are bounded; staff never
decide their own TOS change; searches are bounded."""

import json
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from adherence.services import gap_waive
from lifecycle.models import Deprecation, TOSChangeRequest
from reviews.models import Review
from reviews.services import cycles_ensure
from techniques.models import Technique
from tests.factories import ContributionStepFactory, GapFactory, TOSChangeRequestFactory
from tfmot_portal.forms import clean_text

pytestmark = pytest.mark.django_db
CONTROL_ONLY = "\x01\x02\x03\x7f\x85 \t"


@pytest.mark.parametrize("replacement", ["abc", "1 OR 1=1", "9" * 40, "-1", "\uff11"])
def test_non_numeric_ids_in_lifecycle_posts_are_a_400_after_the_permission_check(
    client, pruning, bob, carol, replacement
):
    data = {"reason": "other", "planned_on": "2027-01-01", "replacement": replacement}
    client.force_login(bob)
    assert client.post("/lifecycle/pruning/deprecate", data).status_code == 403
    client.force_login(carol)
    response = client.post("/lifecycle/pruning/deprecate", data)
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert not Deprecation.objects.exists()


def test_every_lifecycle_post_answers_garbage_with_a_4xx(client, pruning, carol):
    client.force_login(carol)
    step = ContributionStepFactory(technique=pruning, step="proposal_rfc")
    change = TOSChangeRequestFactory(
        technique=pruning, to_level="research", justification="x", requested_by=None
    )
    garbage = {
        "state": "\x00",
        "link": "javascript:alert(1)",
        "done_on": "2026-02-30",
        "launch_date": "9999-99-99",
        "reason": ["a", "b"],
        "approve": "maybe",
        "to_level": "gold",
        "note": "x" * 10_000,
    }
    for url in (
        f"/lifecycle/steps/{step.pk}",
        "/lifecycle/pruning/launch",
        "/lifecycle/pruning/deprecate",
        "/lifecycle/pruning/tos",
        f"/lifecycle/tos-requests/{change.pk}/decide",
    ):
        response = client.post(url, garbage)
        assert 400 <= response.status_code < 500, url


def test_json_sent_to_a_form_is_refused(client, pruning, carol):
    client.force_login(carol)
    body = json.dumps({"reason": "other", "planned_on": "2027-01-01"})
    response = client.post("/lifecycle/pruning/deprecate", body, content_type="application/json")
    assert response.status_code == 400 and not Deprecation.objects.exists()


def test_non_numeric_shepherd_is_a_400_after_the_permission_check(client, pruning, bob, carol):
    review = Review.objects.get(cycle=cycles_ensure(), technique=pruning)
    client.force_login(bob)
    assert client.post(f"/reviews/{review.pk}/shepherd", {"shepherd": "abc"}).status_code == 403
    client.force_login(carol)
    assert client.post(f"/reviews/{review.pk}/shepherd", {"shepherd": "abc"}).status_code == 400


def test_control_characters_only_text_is_refused(client, pruning, alice):
    assert clean_text(CONTROL_ONLY) == "" and clean_text(" a\x00b\n") == "ab"
    client.force_login(alice)
    response = client.post(
        "/lifecycle/pruning/tos", {"to_level": "research", "justification": CONTROL_ONLY}
    )
    assert response.status_code == 400 and "This field is required" in response.content.decode()
    assert not TOSChangeRequest.objects.exists()


def test_staff_cannot_approve_their_own_tos_change(client, pruning, carol):
    client.force_login(carol)
    client.post("/lifecycle/pruning/tos", {"to_level": "research", "justification": "Why not."})
    change = TOSChangeRequest.objects.get()
    response = client.post(f"/lifecycle/tos-requests/{change.pk}/decide", {"approve": "yes"})
    assert response.status_code == 403
    assert TOSChangeRequest.objects.get().status == "pending"
    assert Technique.objects.get(pk=pruning.pk).tos_level == "production"


@pytest.fixture
def gap(pruning):
    return GapFactory(technique=pruning, rule_id="owner-group")


def test_waivers_are_bounded_and_need_a_real_reason(gap, carol, settings):
    today = timezone.now().date()
    with pytest.raises(ValidationError, match="at most 365 days"):
        gap_waive(gap, carol, "Grace period.", today + timedelta(days=366))
    with pytest.raises(ValidationError, match="at most 365 days"):
        gap_waive(gap, carol, "Grace period.", today.replace(year=9999, month=12, day=31))
    with pytest.raises(ValidationError, match="needs a reason"):
        gap_waive(gap, carol, CONTROL_ONLY, today + timedelta(days=30))
    settings.WAIVER_MAX_DAYS = 30
    with pytest.raises(ValidationError, match="at most 30 days"):
        gap_waive(gap, carol, "Grace period.", today + timedelta(days=31))
    assert gap_waive(gap, carol, "Grace period.", today + timedelta(days=30)).state == "waived"


@pytest.mark.parametrize("search", ["a" * 60_000, "a " * 30_000, "x" * 201])
def test_long_searches_are_a_400(client, pruning, search):
    for url in ("/api/techniques/", "/api/groups/", "/api/maintainers/"):
        response = client.get(url, {"search": search})
        assert response.status_code == 400 and "search" in response.json()


@pytest.mark.parametrize(
    ("method", "url", "data"),
    [
        ("get", "/audit/", {"model": "a\x00b"}),
        ("get", "/api/gaps/", {"technique__slug": "\x00"}),
        ("get", "/adherence/", {"owner_group": "\x00"}),
        ("post", "/reviews/{review}/autosave", {"benefits_usage": "a\x00b", "version": 1}),
        ("post", "/reviews/{review}/edit", {"major_updates": "a\x00b", "action": "save"}),
        ("post", "/lifecycle/pruning/tos", {"to_level": "research", "justification": "\x00"}),
    ],
)
def test_nul_characters_in_parameters_are_a_400(client, pruning, carol, alice, method, url, data):
    review = Review.objects.get(cycle=cycles_ensure(), technique=pruning)
    client.force_login(carol if method == "get" else alice)
    response = getattr(client, method)(url.format(review=review.pk), data)
    assert response.status_code == 400
    assert Review.objects.get(pk=review.pk).version == review.version
