"""Evaluation requests are batched: every request committed while an evaluation waits in
the queue becomes that one task, which evaluates the union of their techniques; what
commits once it started is evaluated by the next; a rolled-back change asks for nothing;
the mark of a lost task expires."""

import threading
from types import SimpleNamespace

import pytest
from django.core.cache.backends import locmem
from django.db import connection, transaction

from adherence import services
from adherence.models import EvaluationRequest
from adherence.services import PENDING_SECONDS, evaluation_request, evaluation_run
from adherence.tasks import evaluate_adherence
from tests.factories import TechniqueFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("locmem_cache")]


@pytest.fixture
def sent(monkeypatch):
    """The evaluation tasks sent to the broker (their arguments), in order."""
    calls: list = []
    monkeypatch.setattr(evaluate_adherence, "delay", lambda ids=None: calls.append(ids))
    return calls


@pytest.fixture
def evaluated(monkeypatch):
    """The technique ids of each evaluation run (None: every technique), in order."""
    runs: list = []
    evaluate = services.gaps_evaluate

    def counted(now=None, technique_ids=None):
        runs.append(None if technique_ids is None else set(technique_ids))
        return evaluate(now, technique_ids)

    monkeypatch.setattr(services, "gaps_evaluate", counted)
    return runs


def _request(techniques) -> None:
    with transaction.atomic():  # a change of its own, committed
        evaluation_request(techniques)


def test_fifty_requests_while_an_evaluation_waits_are_one_task_for_all_fifty(
    sent, evaluated, monkeypatch
):
    monkeypatch.setattr(services, "BATCH_SHARE", 1)  # no evaluation of every technique
    techniques = TechniqueFactory.create_batch(50)
    for technique in techniques:
        _request([technique])
    assert sent == [[]]
    summary = evaluation_run(*sent)  # the worker takes the one task
    assert evaluated == [{t.pk for t in techniques}] and summary.techniques == 50
    assert not EvaluationRequest.objects.exists()


def test_a_batch_of_more_than_a_third_of_the_techniques_evaluates_every_technique(sent, evaluated):
    techniques = TechniqueFactory.create_batch(6)
    _request(techniques[:2])
    assert evaluation_run([]).techniques == 2 and evaluated == [{t.pk for t in techniques[:2]}]
    _request(techniques[:3])
    assert evaluation_run([]).techniques == 6 and evaluated[-1] is None


def test_a_request_for_every_technique_absorbs_the_waiting_ones(sent, evaluated):
    techniques = TechniqueFactory.create_batch(6)
    _request(techniques[:1])
    _request(None)
    _request(techniques[1:2])
    assert len(sent) == 1
    assert evaluation_run([]).techniques == 6 and evaluated == [None]


def test_a_request_committed_while_an_evaluation_runs_is_evaluated_next(
    sent, evaluated, monkeypatch
):
    first, second, *_ = TechniqueFactory.create_batch(6)
    _request([first])
    evaluate = services.gaps_evaluate

    def with_a_request_meanwhile(now=None, technique_ids=None):
        # Another process's change commits once this evaluation took its requests.
        writer = threading.Thread(target=lambda: (_request([second]), connection.close()))
        writer.start()
        writer.join()
        return evaluate(now, technique_ids)

    monkeypatch.setattr(services, "gaps_evaluate", with_a_request_meanwhile)
    evaluation_run(*sent)
    monkeypatch.setattr(services, "gaps_evaluate", evaluate)
    assert evaluated == [{first.pk}]
    assert len(sent) == 2  # the mark was cleared as the first started: a second task
    evaluation_run(sent[1])
    assert evaluated == [{first.pk}, {second.pk}]


def test_a_request_committed_before_the_worker_takes_the_requests_is_in_its_batch(
    sent, evaluated, monkeypatch
):
    first, second, *_ = TechniqueFactory.create_batch(6)
    _request([first])
    started = services._evaluation_started

    def then_a_request():
        started()
        _request([second])  # after the mark was cleared, before the requests are taken

    monkeypatch.setattr(services, "_evaluation_started", then_a_request)
    evaluation_run(*sent)
    assert evaluated == [{first.pk, second.pk}]
    assert len(sent) == 2
    monkeypatch.setattr(services, "_evaluation_started", started)
    assert evaluation_run(sent[1]).techniques == 0  # its rows were taken: nothing left
    assert evaluated == [{first.pk, second.pk}]


def test_a_rolled_back_change_asks_for_nothing(sent, evaluated, pruning):
    with pytest.raises(RuntimeError), transaction.atomic():
        evaluation_request([pruning])
        raise RuntimeError("the write failed")
    assert sent == [] and not EvaluationRequest.objects.exists()
    assert evaluation_run([]).techniques == 0 and evaluated == []


def test_a_request_after_a_rolled_back_savepoint_asks_again(sent, evaluated, pruning, clustering):
    with transaction.atomic():
        evaluation_request([clustering])  # the transaction's request waits for its commit
        try:
            with transaction.atomic():
                evaluation_request([pruning])
                raise RuntimeError("the write failed")
        except RuntimeError:
            pass
        evaluation_request([pruning])
    assert len(sent) == 1
    waiting = set(EvaluationRequest.objects.values_list("technique_id", flat=True))
    assert waiting == {clustering.pk, pruning.pk}


def test_a_failed_evaluation_leaves_its_requests_for_the_next(sent, evaluated, monkeypatch):
    first, *_ = TechniqueFactory.create_batch(6)
    _request([first])

    def failing(now=None, technique_ids=None):
        raise RuntimeError("the worker died")

    evaluate = services.gaps_evaluate
    monkeypatch.setattr(services, "gaps_evaluate", failing)
    with pytest.raises(RuntimeError):
        evaluation_run(*sent)
    monkeypatch.setattr(services, "gaps_evaluate", evaluate)
    assert evaluation_run([]).techniques == 1 and evaluated == [{first.pk}]


def test_a_lost_tasks_mark_expires(sent, evaluated, monkeypatch, pruning):
    _request([pruning])
    _request([pruning])
    assert len(sent) == 1  # the task is lost: no worker ever starts it
    clock = locmem.time.time
    later = SimpleNamespace(time=lambda: clock() + PENDING_SECONDS + 1)
    monkeypatch.setattr(locmem, "time", later)
    _request([pruning])
    assert len(sent) == 2  # the mark expired: the next request queues a task again
    assert evaluation_run(sent[1]).techniques == 1 and len(evaluated) == 1


def test_a_request_while_the_broker_is_down_waits_for_the_next(
    sent, evaluated, monkeypatch, pruning, clustering
):
    def down(ids=None):
        raise ConnectionError("broker down")

    monkeypatch.setattr(evaluate_adherence, "delay", down)
    _request([pruning])
    monkeypatch.setattr(evaluate_adherence, "delay", lambda ids=None: sent.append(ids))
    _request([clustering])  # the mark was cleared: this one queues a task
    assert sent == [[]]
    evaluation_run([])
    assert evaluated == [None]  # both: every technique (more than a third)


def test_a_task_queued_with_ids_before_the_change_evaluates_them_and_the_waiting_ones(
    sent, evaluated
):
    first, second, *_ = TechniqueFactory.create_batch(6)
    _request([second])
    evaluation_run([first.pk])
    assert evaluated == [{first.pk, second.pk}]
