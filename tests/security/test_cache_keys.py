"""The anonymous page cache keys on everything a response varies on: one visitor's
Accept header or Host never decides what everyone else gets."""

import pytest

from tests.factories import TechniqueFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("locmem_cache")]


def test_an_html_request_does_not_make_json_clients_get_html(client, pruning):
    html = client.get("/api/techniques/", HTTP_ACCEPT="text/html")
    assert html["Content-Type"].startswith("text/html")
    json_response = client.get("/api/techniques/", HTTP_ACCEPT="application/json")
    assert json_response["Content-Type"].startswith("application/json")
    assert json_response.json()["count"] == 1
    assert client.get("/api/techniques/")["Content-Type"].startswith("application/json")


def test_another_host_does_not_set_everyones_pagination_links(client, db):
    TechniqueFactory.create_batch(51)
    other = client.get("/api/techniques/", HTTP_HOST="localhost").json()
    assert other["next"].startswith("http://localhost/")
    mine = client.get("/api/techniques/").json()
    assert mine["next"].startswith("http://testserver/")


def test_a_disallowed_host_is_refused_not_cached(client, db):
    assert client.get("/api/techniques/", HTTP_HOST="evil.example").status_code == 400
    assert client.get("/api/techniques/").status_code == 200
