"""Every model of the project's apps has a factory, what it builds is valid, and its traits
build what they name."""

import inspect
from datetime import UTC, datetime, timedelta

import factory
import pytest
import time_machine
from django.apps import apps

from tests import factories

APPS = [
    "techniques",
    "adherence",
    "ci_status",
    "convergence",
    "lifecycle",
    "reviews",
    "github_integration",
    "ops",
]


def _factories_by_model():
    found = {}
    for _, cls in inspect.getmembers(factories, inspect.isclass):
        if issubclass(cls, factory.django.DjangoModelFactory) and cls._meta.model:
            found.setdefault(cls._meta.model, cls)
    return found


def test_every_model_has_a_factory():
    models = [m for app in APPS for m in apps.get_app_config(app).get_models()]
    covered = _factories_by_model()
    missing = sorted(m.__name__ for m in models if m not in covered)
    assert not missing, f"Add factories to tests/factories.py for: {missing}"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "factory_class",
    sorted(_factories_by_model().values(), key=lambda f: f.__name__),
    ids=lambda f: f.__name__,
)
def test_factory_builds_a_valid_row(factory_class):
    first, second = factory_class(), factory_class()
    for instance in (first, second):
        instance.full_clean()  # model validation, as the admin and forms apply it
    assert type(first).objects.filter(pk__in=[first.pk, second.pk]).count() in (1, 2)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("factory_name", "params", "expected"),
    [
        ("PullRequestFactory", {"merged": True}, {"state": "closed", "kind": "pr"}),
        ("CommentFactory", {"member": True}, {"author_association": "MEMBER"}),
        ("CommentFactory", {"review": True}, {"kind": "review", "state": "COMMENTED"}),
        ("TechniqueChangeFactory", {"maintainers": True}, {"field": "maintainers", "before": ""}),
        ("SyncRunFactory", {"ok": True}, {"status": "ok"}),
    ],
)
def test_traits_build_valid_rows_of_what_they_name(factory_name, params, expected):
    instance = getattr(factories, factory_name)(**params)
    instance.full_clean()
    assert {field: getattr(instance, field) for field in expected} == expected


@pytest.mark.django_db
def test_relative_times_count_back_from_now():
    now = datetime(2026, 11, 23, 12, tzinfo=UTC)
    with time_machine.travel(now, tick=False):
        assert factories.GapFactory(days_open=3).opened_at == now - timedelta(days=3)
        run = factories.SyncRunFactory(ok=True, minutes_ago=10)
    assert run.finished_at == now - timedelta(minutes=10)
    assert run.started_at == run.finished_at - timedelta(seconds=30)
    pr = factories.PullRequestFactory(merged=True, merged_at=now)
    assert pr.closed_at == pr.merged_at == now
