"""One way to ask for re-evaluation: ``adherence.services.evaluation_request``, merged per
transaction and sent on commit; a review decision evaluates its technique at once."""

import json
from datetime import date, timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from adherence.models import Gap
from adherence.services import evaluation_request, gaps_evaluate
from convergence.models import CIToken
from reviews.models import Review
from reviews.services import cycles_ensure, review_decide, review_save_draft, review_submit
from techniques.duties import duties_for
from tfmot_portal.celery import app as celery_app

pytestmark = pytest.mark.django_db


@pytest.fixture
def eager():
    """Tasks run in this process when sent, as a worker would run them."""
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


def _upload(client, token, outcome):
    runs = [
        {
            "test": "pruning/resnet50",
            "outcome": outcome,
            "tfmot_sha": f"abc12{n}4",
            "started_at": (timezone.now() - timedelta(hours=n)).isoformat(),
            "external_id": f"{outcome}-{n}",
        }
        for n in range(3)
    ]
    return client.post(
        "/api/convergence/upload/",
        data=json.dumps({"runs": runs}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


def test_an_uploaded_failing_run_opens_its_gap_without_any_sync(
    client, resnet, eager, django_capture_on_commit_callbacks
):
    gaps_evaluate()
    assert not Gap.objects.unresolved().filter(rule_id="convergence-green").exists()
    token = CIToken.issue("Kokoro", all_techniques=True)[1]
    with django_capture_on_commit_callbacks(execute=True):
        assert _upload(client, token, "failed").status_code == 201
    gap = Gap.objects.unresolved().get(rule_id="convergence-green")
    assert gap.technique == resnet.technique
    with django_capture_on_commit_callbacks(execute=True):
        assert _upload(client, token, "passed").status_code == 201
    gap.refresh_from_db()
    assert gap.state == Gap.State.RESOLVED


def test_requests_in_one_transaction_are_one_task_for_their_union(
    pruning, clustering, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        evaluation_request([pruning])
        evaluation_request([pruning.pk, clustering.pk])
        evaluation_request([])
    assert len(callbacks) == 1
    assert callbacks[0].technique_ids == {pruning.pk, clustering.pk}


def test_a_request_for_every_technique_absorbs_the_others(
    pruning, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        evaluation_request([pruning])
        evaluation_request()
    assert len(callbacks) == 1 and callbacks[0].technique_ids is None


def test_a_rolled_back_savepoint_forgets_its_request(pruning, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        try:
            with transaction.atomic():
                evaluation_request([pruning])
                raise RuntimeError("the write failed")
        except RuntimeError:
            pass
    assert callbacks == []
    with django_capture_on_commit_callbacks() as callbacks:
        evaluation_request([pruning])
    assert len(callbacks) == 1


def test_only_the_requested_techniques_are_evaluated(pruning, clustering):
    summary = gaps_evaluate(technique_ids=[pruning.pk])
    assert summary.techniques == 1
    assert not Gap.objects.filter(technique=clustering).exists()
    assert Gap.objects.filter(technique=pruning).exists()


def test_an_accepted_review_closes_its_overdue_gap_at_once(alice_client, alice, carol, pruning):
    cycle = cycles_ensure(date(2026, 3, 1))  # due 2026-06-30: overdue today
    gaps_evaluate()
    assert Gap.objects.unresolved().filter(technique=pruning, rule_id="review-due").exists()
    review = Review.objects.get(cycle=cycle, technique=pruning)
    data = {
        "benefits_usage": "Used widely.",
        "major_updates": "- 2:4 sparsity",
        "self_assessment": {
            d.id: {"rating": "met", "note": "As we see it."} for d in duties_for(pruning)
        },
    }
    review = review_submit(review_save_draft(review, alice, data, review.version), alice)
    review_decide(review, carol, accept=True)
    assert not Gap.objects.unresolved().filter(technique=pruning, rule_id="review-due").exists()
    page = alice_client.get(pruning.get_absolute_url()).content.decode()
    assert "not met: semi-annual reviews" not in page.lower()
