"""Factories for tests. Users follow DESIGN.md: alice (owner), bob (other owner),
carol (staff); anonymous is the plain client."""

import factory
from django.contrib.auth import get_user_model

from techniques.models import Maintainer, OwnerGroup, Stage, Technique, TOSLevel


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.django.Password("pw-for-tests-1")


class OwnerGroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OwnerGroup

    name = factory.Sequence(lambda n: f"Group {n}")
    slug = factory.Sequence(lambda n: f"group-{n}")
    mailing_list = factory.LazyAttribute(lambda g: f"{g.slug}@example.org")


class MaintainerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Maintainer

    group = factory.SubFactory(OwnerGroupFactory)
    github_login = factory.Sequence(lambda n: f"maint{n}")
    name = factory.LazyAttribute(lambda m: m.github_login.title())


class TechniqueFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Technique

    slug = factory.Sequence(lambda n: f"technique-{n}")
    name = factory.Sequence(lambda n: f"Technique {n}")
    category = "sparsity"
    public_api = factory.LazyAttribute(lambda t: f"tfmot.{t.slug.replace('-', '_')}")
    github_labels = factory.LazyAttribute(lambda t: [f"technique:{t.slug}"])
    path_globs = factory.LazyAttribute(lambda t: [f"tensorflow_model_optimization/{t.slug}/"])
    tos_level = TOSLevel.PRODUCTION
    stage = Stage.LAUNCHED
    launch_date = factory.Faker("date_between", start_date="-3y", end_date="-1y")
    owner_group = factory.SubFactory(OwnerGroupFactory)
