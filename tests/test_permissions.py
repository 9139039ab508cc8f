"""A page and the service behind it refuse with the same words: each permission is
declared once (``<app>/permissions.py``) and checked by both."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from adherence.permissions import ACKNOWLEDGE
from adherence.services import gap_acknowledge
from lifecycle.permissions import DEPRECATE
from lifecycle.services import deprecation_start
from reviews.permissions import DECIDE
from reviews.services import review_decide
from tests.factories import GapFactory, ReviewFactory


def _refused_page(client, user, path: str, data: dict) -> str:
    client.force_login(user)
    response = client.post(path, data)
    assert response.status_code == 403
    return response.content.decode()


def test_deprecation_refused_alike_by_the_page_and_the_service(client, pruning, alice):
    page = _refused_page(
        client,
        alice,
        "/lifecycle/pruning/deprecate",
        {"reason": "other", "planned_on": "2027-01-01"},
    )
    assert "Only the TFMOT team starts a deprecation." in page
    with pytest.raises(PermissionDenied) as refused:
        deprecation_start(pruning, alice, "other", None, None, "", False)
    assert str(refused.value) == DEPRECATE.refusal == "Only the TFMOT team starts a deprecation."


def test_acknowledging_another_groups_gap_refused_alike(client, pruning, bob):
    gap = GapFactory(technique=pruning)
    page = _refused_page(client, bob, f"/adherence/gaps/{gap.pk}/acknowledge", {"note": "On it"})
    assert ACKNOWLEDGE.refusal.replace("'", "&#x27;") in page
    with pytest.raises(PermissionDenied) as refused:
        gap_acknowledge(gap, bob, "On it")
    assert str(refused.value) == ACKNOWLEDGE.refusal
    gap.refresh_from_db()
    assert gap.state == "open"


def test_an_owner_cannot_decide_their_own_review(client, pruning, alice):
    review = ReviewFactory(technique=pruning, status="submitted")
    page = _refused_page(client, alice, f"/reviews/{review.pk}/decide", {"decision": "accept"})
    assert "Only the TFMOT team can decide on a review" in page
    with pytest.raises(PermissionDenied) as refused:
        review_decide(review, alice, accept=True)
    assert str(refused.value) == DECIDE.refusal
    review.refresh_from_db()
    assert review.status == "submitted"


def test_a_missing_object_is_a_404_whoever_asks(client, pruning, bob, carol):
    client.force_login(carol)
    assert client.post("/lifecycle/no-such-technique/deprecate", {}).status_code == 404
    assert client.post("/adherence/gaps/999999/acknowledge", {"note": "x"}).status_code == 404
    client.force_login(bob)
    assert client.post("/adherence/gaps/999999/acknowledge", {"note": "x"}).status_code == 404
