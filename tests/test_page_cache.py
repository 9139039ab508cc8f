"""The public page cache never shows stale ownership."""

import pytest

from techniques.cache import bump_data_version
from techniques.models import Technique
from tests.factories import OwnerGroupFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("locmem_cache")]


def test_anonymous_pages_are_served_from_cache_with_one_query(
    client, pruning, django_assert_num_queries
):
    client.get("/techniques/pruning/")
    with django_assert_num_queries(1):  # the data version only
        assert b"TensorFlow Model Optimization" in client.get("/techniques/pruning/").content


def test_an_ownership_change_shows_at_once(client, pruning):
    assert b"TensorFlow Model Optimization" in client.get("/techniques/pruning/").content
    assert b"TensorFlow Model Optimization" in client.get("/owners/").content
    pruning.owner_group = OwnerGroupFactory(name="New Owners")
    pruning.save()
    assert b"Owned by <a" in client.get("/techniques/pruning/").content
    assert b"New Owners" in client.get("/techniques/pruning/").content
    assert b"New Owners" in client.get("/owners/").content
    assert b"New Owners" in client.get("/api/techniques/pruning/").content


def test_bulk_writes_invalidate_through_an_explicit_bump(client, pruning):
    client.get("/")
    Technique.objects.filter(pk=pruning.pk).update(name="Renamed by a bulk write")
    assert b"Renamed by a bulk write" not in client.get("/").content  # signals do not fire
    bump_data_version()
    assert b"Renamed by a bulk write" in client.get("/").content


def test_signed_in_users_never_get_the_anonymous_copy(client, alice, pruning):
    client.get("/")
    client.force_login(alice)
    assert b"Signed in as" in client.get("/").content


def test_signed_in_pages_are_cached_per_session_until_the_data_changes(
    client, alice, pruning, django_assert_max_num_queries
):
    from adherence.services import gaps_evaluate
    from techniques.models import Maintainer

    client.force_login(alice)
    gaps_evaluate()
    first = client.get("/adherence/").content
    with django_assert_max_num_queries(4):  # session, user, rights, data version
        assert client.get("/adherence/").content == first
    Maintainer.objects.filter(github_login="dave").update(status="emeritus")
    gaps_evaluate()  # bumps the data version
    assert client.get("/adherence/").content != first


def test_a_cached_page_never_outlives_a_loss_of_rights(client, carol, pruning):
    """carol's staff flag, a group, a linked GitHub account or a maintainer row taken away:
    her next look is drawn anew for her rights, not the page cached before."""
    from allauth.socialaccount.models import SocialAccount
    from django.contrib.auth.models import Group

    from techniques.models import Maintainer

    client.force_login(carol)
    staff_view = "the team's decision"
    assert staff_view in client.get("/reviews/").content.decode()
    type(carol).objects.filter(pk=carol.pk).update(is_staff=False, is_superuser=False)
    assert staff_view not in client.get("/reviews/").content.decode()

    # Each other part of the rights changes the key as well (no data version bump).
    from django.test import RequestFactory

    from techniques.cache import rights_fingerprint

    request = RequestFactory().get("/")
    request.user = type(carol).objects.get(pk=carol.pk)
    before = rights_fingerprint(request)
    group = Group.objects.create(name="reviewers")
    request.user.groups.add(group)
    with_group = rights_fingerprint(request)
    SocialAccount.objects.create(user=request.user, provider="github", uid="99")
    request.user = type(carol).objects.get(pk=carol.pk)
    linked = rights_fingerprint(request)
    Maintainer.objects.create(group=pruning.owner_group, github_login="carol", github_id=99)
    maintainer = rights_fingerprint(request)
    Maintainer.objects.filter(github_id=99).update(status="emeritus")
    emeritus = rights_fingerprint(request)
    assert len({before, with_group, linked, maintainer, emeritus}) == 5


def test_another_user_never_gets_my_cached_page(client, alice, bob, pruning):
    client.force_login(alice)
    client.get("/reviews/")
    client.force_login(bob)
    assert b"<strong>bob</strong>" in client.get("/reviews/").content


def test_a_deploy_never_serves_pages_cached_by_the_code_before_it(
    client, pruning, monkeypatch, settings
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from techniques import cache

    client.get("/techniques/pruning/")
    monkeypatch.setattr(cache, "CODE_VERSION", "the-next-release")
    with CaptureQueriesContext(connection) as rendered:
        client.get("/techniques/pruning/")
    assert len(rendered.captured_queries) > 1  # drawn anew, not the cached copy
    settings.RELEASE = "v2.0.0"
    assert cache.code_version() == "v2.0.0"
    settings.RELEASE = ""
    assert cache.code_version() == cache.code_version() != "v2.0.0"  # the source's digest
