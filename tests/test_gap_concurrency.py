"""Parallel acknowledgements and waivers of one gap over HTTP, against the live server
on PostgreSQL: one request wins, the others are refused with the page (400)."""

import threading
from datetime import timedelta

import pytest
import requests
from django.db import connection
from django.test import Client
from django.utils import timezone

from adherence.models import Gap, GapEvent
from tests.factories import GapFactory

PARALLEL = 6
CSRF = "c" * 32

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row locks need PostgreSQL"
)


def _session(user) -> requests.Session:
    session = requests.Session()
    session.cookies.set("csrftoken", CSRF)
    session.headers["X-CSRFToken"] = CSRF
    client = Client()
    client.force_login(user)
    session.cookies.set("sessionid", client.cookies["sessionid"].value)
    return session


def _post_in_parallel(url: str, user, data: dict) -> list[int]:
    sessions = [_session(user) for _ in range(PARALLEL)]
    barrier, statuses = threading.Barrier(PARALLEL), []

    def post(session):
        barrier.wait()
        response = session.post(
            url, data={**data, "csrfmiddlewaretoken": CSRF}, timeout=60, allow_redirects=False
        )
        statuses.append(response.status_code)

    threads = [threading.Thread(target=post, args=(s,)) for s in sessions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def test_parallel_acknowledgements_of_one_gap_have_one_winner(
    live_server, transactional_db, pruning, alice
):
    gap = GapFactory(technique=pruning)
    statuses = _post_in_parallel(
        f"{live_server.url}/adherence/gaps/{gap.pk}/acknowledge", alice, {"note": "On it."}
    )
    assert sorted(statuses) == [302] + [400] * (PARALLEL - 1), statuses
    assert GapEvent.objects.filter(gap=gap, kind=GapEvent.Kind.ACKNOWLEDGED).count() == 1
    assert Gap.objects.get(pk=gap.pk).state == Gap.State.ACKNOWLEDGED


def test_parallel_waivers_of_one_gap_have_one_winner(live_server, transactional_db, pruning, carol):
    gap = GapFactory(technique=pruning)
    until = (timezone.localdate() + timedelta(days=30)).isoformat()
    statuses = _post_in_parallel(
        f"{live_server.url}/adherence/gaps/{gap.pk}/waive",
        carol,
        {"reason": "Agreed at the sync.", "until": until},
    )
    assert sorted(statuses) == [302] + [400] * (PARALLEL - 1), statuses
    assert GapEvent.objects.filter(gap=gap, kind=GapEvent.Kind.WAIVED).count() == 1
    refused = Client()
    refused.force_login(carol)
    again = refused.post(f"/adherence/gaps/{gap.pk}/waive", {"reason": "Again.", "until": until})
    assert again.status_code == 400 and "already waived until" in again.content.decode()
