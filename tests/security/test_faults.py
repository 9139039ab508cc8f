"""Faults of real processes: a dropped PostgreSQL connection, a stopped Redis."""

import pytest
from django.db import connection
from django.test import Client

from tests.factories import GapFactory


@pytest.mark.django_db(transaction=True)
def test_a_dropped_database_connection_gives_an_error_page_and_writes_nothing(pruning, alice):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL")

    from adherence.models import Gap

    gap = GapFactory(technique=pruning)
    client = Client(raise_request_exception=False)
    client.force_login(alice)
    import psycopg
    from django.conf import settings

    db = settings.DATABASES["default"]
    pid = connection.connection.info.backend_pid
    with psycopg.connect(
        host=db["HOST"],
        port=db["PORT"] or 5432,
        user=db["USER"],
        dbname="postgres",
        autocommit=True,
    ) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
    response = client.post(f"/adherence/gaps/{gap.pk}/acknowledge", {"note": "half-written?"})
    assert response.status_code == 500
    assert b"Something went wrong on our side" in response.content
    assert b"Traceback" not in response.content
    connection.close()
    assert Gap.objects.get(pk=gap.pk).state == "open"


@pytest.mark.django_db
def test_redis_stopped_pages_render_and_queue_actions_say_so(
    carol_client, pruning, private_redis, broker
):
    url, server = private_redis  # our own Redis: never the machine's shared one
    broker(url)
    server.kill()
    server.wait()
    for path in ["/", "/techniques/pruning/", "/sync/", "/adherence/", "/ci/", "/reviews/"]:
        assert carol_client.get(path).status_code == 200, path
    response = carol_client.post("/sync/now/", {"repository": "primary"}, follow=True)
    assert "task queue is unavailable" in response.content.decode()
    response = carol_client.post("/lifecycle/ownership/check", follow=True)
    assert "task queue is unavailable" in response.content.decode()
