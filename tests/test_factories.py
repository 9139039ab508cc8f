"""Every model of the project's apps has a factory, and what it builds is valid."""

import inspect

import factory
import pytest
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
