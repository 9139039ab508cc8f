import pytest
from django.core.exceptions import ValidationError

from techniques.duties import DUTIES, duties_for
from techniques.models import Maintainer, OwnerGroup, Technique
from techniques.services import technique_save
from tests.factories import MaintainerFactory, OwnerGroupFactory, TechniqueFactory

pytestmark = pytest.mark.django_db


def errors_of(instance) -> dict:
    with pytest.raises(ValidationError) as info:
        instance.full_clean()
    return info.value.message_dict


def test_a_group_needs_a_name():
    assert "name" in errors_of(OwnerGroup(name="   ", slug="x"))


def test_group_names_are_unique_with_a_clear_message():
    OwnerGroupFactory(name="Arm ML Tooling")
    errors = errors_of(OwnerGroup(name="Arm ML Tooling", slug="other"))
    assert errors["name"] == ["Another owner group already has this name."]


def test_github_team_must_name_the_org():
    assert "github_team" in errors_of(OwnerGroup(name="G", slug="g", github_team="tf-mot"))


@pytest.mark.parametrize(
    "login", ["-alice", "alice-", "al--ice", "a" * 40, "al ice", "alice@x", ""]
)
def test_malformed_github_logins_are_refused(login):
    group = OwnerGroupFactory()
    errors = errors_of(Maintainer(group=group, github_login=login))
    assert "github_login" in errors


@pytest.mark.parametrize("login", ["alice", "a", "Alan-Chiao", "x" * 39, "tf-mot-bot1"])
def test_well_formed_github_logins_are_accepted(login):
    Maintainer(group=OwnerGroupFactory(), github_login=login).full_clean()


def test_a_login_is_listed_once_per_group_whatever_its_case():
    maintainer = MaintainerFactory(github_login="alice")
    with pytest.raises(ValidationError, match="already a maintainer"):
        Maintainer(group=maintainer.group, github_login="ALICE").full_clean()


def test_a_technique_needs_a_label():
    technique = TechniqueFactory.build(github_labels=[], owner_group=OwnerGroupFactory())
    assert "own GitHub label" in errors_of(technique)["github_labels"][0]


def test_labels_are_trimmed_and_deduplicated():
    technique = TechniqueFactory.build(
        github_labels=[" technique:qat ", "technique:qat", ""], owner_group=OwnerGroupFactory()
    )
    technique.full_clean()
    assert technique.github_labels == ["technique:qat"]


def test_a_label_with_a_comma_is_refused():
    technique = TechniqueFactory.build(github_labels=["a,b"], owner_group=OwnerGroupFactory())
    assert "github_labels" in errors_of(technique)


def test_slugs_are_unique():
    TechniqueFactory(slug="pruning")
    technique = TechniqueFactory.build(slug="pruning", owner_group=OwnerGroupFactory())
    assert errors_of(technique)["slug"] == ["Another technique already uses this slug."]


def test_a_launched_technique_needs_a_launch_date():
    technique = TechniqueFactory.build(
        stage="launched", launch_date=None, owner_group=OwnerGroupFactory()
    )
    assert "launch_date" in errors_of(technique)


def test_saving_records_ownership_and_tos_changes_with_who(pruning, carol):
    other = OwnerGroupFactory(name="Arm ML Tooling")
    pruning.tos_level = "research"
    pruning.owner_group = other
    technique_save(pruning, user=carol, note="handover")
    changes = {c.field: c for c in pruning.changes.all()}
    assert changes["tos_level"].before == "production"
    assert changes["tos_level"].after == "research"
    assert changes["owner_group"].before == "TensorFlow Model Optimization"
    assert changes["owner_group"].after == "Arm ML Tooling"
    assert changes["owner_group"].changed_by == carol
    assert changes["owner_group"].note == "handover"


def test_saving_without_changes_records_nothing(pruning):
    technique_save(pruning)
    assert pruning.changes.count() == 0


def test_invalid_edit_is_not_half_saved(pruning):
    pruning.github_labels = []
    pruning.tos_level = "research"
    with pytest.raises(ValidationError):
        technique_save(pruning)
    assert Technique.objects.get(pk=pruning.pk).tos_level == "production"
    assert pruning.changes.count() == 0


def test_duties_follow_the_tos_level_and_research_opt_ins(pruning, clustering):
    production = {d.id for d in duties_for(pruning)}
    research = {d.id for d in duties_for(clustering)}
    assert {"release-notes", "review-prs", "unlabeled-triage"} <= production
    assert "release-notes" not in research
    assert "fix-supported-bugs" in research and "fix-supported-bugs" not in production
    clustering.provides_release_notes = True
    assert "release-notes" in {d.id for d in duties_for(clustering)}


def test_duties_and_the_rules_that_check_them_agree():
    """A rule named by a duty is registered, applies under no TOS level its duty does not,
    and follows the same research opt-in; every registered rule checks some duty."""
    from adherence.engine import RULES

    checked = set()
    for duty in DUTIES:
        for rule_id in duty.rules:
            rule = RULES.get(rule_id)
            assert rule is not None, f"{duty.id} names unknown rule {rule_id}"
            assert set(rule.applies_to) <= set(duty.applies_to), rule_id
            assert rule.research_opt_in in ("", duty.research_opt_in), rule_id
            checked.add(rule_id)
    assert set(RULES) == checked, f"rules checking no duty: {set(RULES) - checked}"


def test_research_tos_header_says_what_is_not_promised(clustering):
    header = clustering.tos_header()
    assert "Owned by Arm ML Tooling. Terms of service: Research." in header
    assert "New features are not expected" in header
    assert "not part of the research terms of service" in header
    assert clustering.docstring_header().startswith('"""Weight clustering (tfmot.clustering.keras)')


def test_owned_by_matches_active_maintainers_by_login(pruning, alice, bob):
    assert list(Technique.objects.owned_by(alice)) == [pruning]
    assert not Technique.objects.owned_by(bob).exists()
    Maintainer.objects.filter(github_login="alice").update(status="emeritus")
    assert not Technique.objects.owned_by(alice).exists()
