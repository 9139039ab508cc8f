import pytest

from tests.factories import TechniqueFactory

pytestmark = pytest.mark.django_db


def test_technique_list_is_paginated_and_filterable(client, pruning, clustering):
    TechniqueFactory.create_batch(55)
    page = client.get("/api/techniques/").json()
    assert page["count"] == 57 and len(page["results"]) == 50 and page["next"]
    research = client.get("/api/techniques/?tos_level=research").json()
    assert [t["slug"] for t in research["results"]] == ["clustering"]
    labelled = client.get("/api/techniques/?label=technique:pruning").json()
    assert [t["slug"] for t in labelled["results"]] == ["pruning"]
    by_group = client.get("/api/techniques/?owner_group=arm").json()
    assert [t["slug"] for t in by_group["results"]] == ["clustering"]


def test_technique_detail_says_who_owns_it(client, pruning):
    body = client.get("/api/techniques/pruning/").json()
    assert body["owned_by"] == "TensorFlow Model Optimization"
    assert body["owner_group"] == "tf-mot"
    assert body["url"].endswith("/techniques/pruning/")


def test_unknown_technique_is_404(client):
    assert client.get("/api/techniques/nope/").status_code == 404


def test_bad_filter_value_is_a_clear_400(client, pruning):
    response = client.get("/api/techniques/?tos_level=bogus")
    assert response.status_code == 400
    assert "tos_level" in response.json()


def test_groups_and_maintainers(client, pruning):
    group = client.get("/api/groups/tf-mot/").json()
    assert group["maintainers"] == ["@alice*", "@dave"]
    maintainers = client.get("/api/maintainers/?search=alice").json()["results"]
    assert maintainers[0]["group"] == "tf-mot" and maintainers[0]["is_direct_assignee"]


def test_openapi_schema_and_docs_page_are_served_locally(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/techniques/" in schema.content
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"cdn" not in docs.content.lower()


def test_signed_in_non_staff_cannot_write_either(alice_client, pruning):
    response = alice_client.patch(
        "/api/techniques/pruning/", {"tos_level": "research"}, content_type="application/json"
    )
    assert response.status_code == 405
