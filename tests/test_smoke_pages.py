import pytest


@pytest.mark.parametrize(
    "path", ["/", "/owners/", "/api/techniques/", "/api/docs/", "/api/schema/"]
)
def test_public_pages_render_for_anonymous(client, pruning, clustering, path):
    assert client.get(path).status_code == 200
