"""The owner groups API: the list (rows of values, built for 50 groups a page) says of each
group exactly what its own page in the API says, emeritus maintainers left out."""

import pytest

from techniques.models import Maintainer
from tests.factories import MaintainerFactory, OwnerGroupFactory

pytestmark = pytest.mark.django_db


def test_the_list_says_what_each_group_says(client):
    for n in range(3):
        group = OwnerGroupFactory(name=f"Group {n}", slug=f"group-{n}", github_team=f"tf/g{n}")
        MaintainerFactory(group=group, github_login=f"star{n}", is_direct_assignee=True)
        MaintainerFactory(group=group, github_login=f"zed{n}")
        MaintainerFactory(group=group, github_login=f"gone{n}", status=Maintainer.Status.EMERITUS)
    OwnerGroupFactory(name="Nobody yet", slug="nobody-yet")
    listed = client.get("/api/groups/").json()
    assert listed["count"] == 4
    for row in listed["results"]:  # the same fields, in the same order, with the same values
        assert list(row.items()) == list(client.get(f"/api/groups/{row['slug']}/").json().items())
    by_slug = {row["slug"]: row for row in listed["results"]}
    assert by_slug["group-1"]["maintainers"] == ["@star1*", "@zed1"]
    assert by_slug["nobody-yet"]["maintainers"] == []
