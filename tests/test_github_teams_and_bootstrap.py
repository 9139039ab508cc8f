"""Owner groups from GitHub teams, and the bootstrap from a repository, over loopback."""

import json
from io import StringIO
from pathlib import Path

import pytest
from auditlog.models import LogEntry
from django.core.management import call_command

from adherence.services import gaps_evaluate
from github_integration.bootstrap import bootstrap_decide
from github_integration.models import BootstrapProposal, TeamSync
from github_integration.teams import team_sync
from techniques.models import Maintainer, OwnerGroup, Technique, TechniqueChange
from tests.factories import MaintainerFactory, OwnerGroupFactory, TechniqueFactory
from tfmot_portal.celery import app as celery_app

LABELS = json.loads((Path(__file__).resolve().parents[1] / "demo_data/labels.json").read_text())
# The shape of the toolkit's CODEOWNERS, owners given as teams and people.
CODEOWNERS = """\
# Code owners of the TensorFlow Model Optimization toolkit
/tensorflow_model_optimization/python/core/sparsity/ @tensorflow/tf-mot @alice
/tensorflow_model_optimization/python/core/quantization/keras/ @tensorflow/tf-mot
/tensorflow_model_optimization/python/core/clustering/ @arm-software/ml-tooling @bob
/tensorflow_model_optimization/python/core/internal/tensor_encoding/ @alice
"""


@pytest.fixture
def team_group(db, fake_github):
    fake_github.dataset.set_team("tensorflow/tf-mot", ["alice", "dave", "erin"])
    group = OwnerGroupFactory(name="TF MOT", slug="tf-mot", github_team="tensorflow/tf-mot")
    MaintainerFactory(group=group, github_login="alice", is_direct_assignee=True)
    MaintainerFactory(group=group, github_login="zed")  # not in the team
    TechniqueFactory(slug="pruning", name="Weight pruning", owner_group=group)
    return group


def test_team_members_become_the_groups_maintainers(team_group, github_client, fake_github):
    result = team_sync(team_group, github_client)
    assert sorted(result.added) == ["dave", "erin"] and result.removed == ["zed"]
    active = {m.github_login for m in Maintainer.objects.filter(group=team_group, status="active")}
    assert active == {"alice", "dave", "erin"}
    assert Maintainer.objects.get(github_login="zed").status == "emeritus"  # history kept
    alice = Maintainer.objects.get(github_login="alice")
    assert alice.is_direct_assignee and alice.github_id == fake_github.dataset.user_id("alice")
    change = TechniqueChange.objects.get(technique__slug="pruning", field="maintainers")
    assert "added @dave, @erin" in change.after and "@zed" in change.after
    # The audit trail records the new maintainers too.
    from auditlog.models import LogEntry

    added = [str(m.pk) for m in Maintainer.objects.filter(github_login__in=["dave", "erin"])]
    logged = LogEntry.objects.filter(content_type__model="maintainer", object_pk__in=added)
    assert logged.filter(action=LogEntry.Action.CREATE).count() == 2


def test_an_unchanged_team_costs_one_304(team_group, github_client, fake_github):
    team_sync(team_group, github_client)
    fake_github.reset_counters()
    result = team_sync(team_group, github_client)
    assert result.unchanged and not result.changed
    assert fake_github.counters == {"requests": 1, "not_modified": 1, "faults": 0}
    assert TechniqueChange.objects.filter(field="maintainers").count() == 1


def test_team_pages_are_followed(db, fake_github, github_client):
    members = [f"user{n}" for n in range(150)]
    fake_github.dataset.set_team("tensorflow/big", members)
    group = OwnerGroupFactory(github_team="tensorflow/big")
    team_sync(group, github_client)
    assert group.maintainers.filter(status="active").count() == 150
    assert sum("/orgs/tensorflow/teams/big/members" in p for p in fake_github.paths) == 2


def test_renamed_member_keeps_their_maintainer_record(team_group, github_client, fake_github):
    team_sync(team_group, github_client)
    dave = Maintainer.objects.get(github_login="dave")
    fake_github.dataset.rename_user("dave", "dave-tf")
    result = team_sync(team_group, github_client)
    assert result.renamed == [("dave", "dave-tf")] and not result.added
    dave.refresh_from_db()
    assert dave.github_login == "dave-tf" and dave.status == "active"


def test_the_ownership_rules_count_the_synced_team(db, fake_github, github_client):
    group = OwnerGroupFactory(github_team="tensorflow/solo")
    TechniqueFactory(slug="solo", owner_group=group)
    fake_github.dataset.set_team("tensorflow/solo", ["frank"])
    team_sync(group, github_client)
    gaps_evaluate()
    assert group.techniques.get().gaps.filter(rule_id="two-maintainers", state="open").exists()
    fake_github.dataset.set_team("tensorflow/solo", ["frank", "grace"])
    team_sync(group, github_client)
    gaps_evaluate()
    assert (
        not group.techniques.get()
        .gaps.filter(rule_id="two-maintainers")
        .exclude(state="resolved")
        .exists()
    )


def test_a_missing_team_is_reported_and_changes_nothing(team_group, github_client):
    team_group.github_team = "tensorflow/gone"
    team_group.save()
    result = team_sync(team_group, github_client)
    assert "404" in result.error
    assert TeamSync.objects.get(group=team_group).error == result.error
    assert Maintainer.objects.filter(group=team_group, status="active").count() == 2


@pytest.mark.parametrize(
    "team", ["tensorflow/tf mot", "tensorflow", "tensorflow/", "-tf/x", "tf/a--b", "a/b/c", "tf/x-"]
)
def test_a_team_is_written_by_githubs_slug_rules(db, team):
    from django.core.exceptions import ValidationError

    group = OwnerGroupFactory.build(name="G", slug="g", github_team=team)
    with pytest.raises(ValidationError) as refused:
        group.full_clean()
    assert "org/team-slug" in str(refused.value.message_dict["github_team"])
    for good in ("tensorflow/tf-mot", "arm-software/ml_tooling", "Org1/Team_2-x"):
        OwnerGroupFactory.build(name="G", slug="g", github_team=good).full_clean()


def test_one_bad_team_never_stops_the_other_groups(team_group, github_client):
    """A team stored before the validator (or written around it) fails alone and says why."""
    from github_integration.teams import teams_sync_all

    bad = OwnerGroupFactory(name="A first group", slug="a-first")
    OwnerGroup.objects.filter(pk=bad.pk).update(github_team="tensorflow/tf mot")
    results = {r.group.slug: r for r in teams_sync_all(github_client)}
    assert "org/team-slug" in results["a-first"].error
    assert TeamSync.objects.get(group=bad).error == results["a-first"].error
    assert results["tf-mot"].error == ""
    assert Maintainer.objects.filter(group=team_group, github_login="erin").exists()


# --- bootstrap -------------------------------------------------------------------------


@pytest.fixture
def toolkit(fake_github):
    """The real toolkit's labels (without those the demo adds) and a CODEOWNERS file in
    the toolkit's layout, owners given as teams and people."""
    real = {label["name"] for label in LABELS}
    ds = fake_github.dataset
    with ds.lock:
        ds.labels = [label for label in ds.labels if label["name"] in real]
    fake_github.dataset.set_file(".github/CODEOWNERS", CODEOWNERS)
    with ds.lock:  # a repository with CODEOWNERS and no labeler.yml
        ds.files.pop(".github/labeler.yml", None)
    return fake_github


def bootstrap(server) -> str:
    out = StringIO()
    call_command("bootstrap_repository", server.dataset.full_name, api_url=server.url, stdout=out)
    return out.getvalue()


def test_bootstrap_proposes_from_labels_and_codeowners(db, toolkit):
    output = bootstrap(toolkit)
    techniques = {p.key: p.data for p in BootstrapProposal.objects.filter(kind="technique")}
    wanted = {lb["name"] for lb in LABELS if lb["name"].startswith("technique:")}
    assert set(techniques) == wanted - {"technique:all", "technique:proposal"}
    pruning = techniques["technique:pruning"]
    assert pruning["public_api"] == "tfmot.sparsity.keras"
    assert pruning["path_globs"] == ["/tensorflow_model_optimization/python/core/sparsity/"]
    assert pruning["group"] == "team:tensorflow/tf-mot"
    groups = {p.key: p.data for p in BootstrapProposal.objects.filter(kind="group")}
    assert groups["team:tensorflow/tf-mot"]["github_team"] == "tensorflow/tf-mot"
    assert groups["team:arm-software/ml-tooling"]["maintainers"] == ["bob"]
    assert "proposed" in output and "/github/bootstrap/" in output
    assert not Technique.objects.exists() and not OwnerGroup.objects.exists()


def test_staff_confirm_on_the_page_and_a_second_run_changes_nothing(
    db, toolkit, carol_client, client
):
    bootstrap(toolkit)
    page = carol_client.get("/github/bootstrap/")
    assert page.status_code == 200 and "technique:pruning" in page.content.decode()
    pruning = BootstrapProposal.objects.get(key="technique:pruning")
    qat = BootstrapProposal.objects.get(key="technique:qat")
    response = carol_client.post(
        "/github/bootstrap/decide", {"proposal": [pruning.pk], "action": "confirm"}
    )
    assert response.status_code == 302
    carol_client.post("/github/bootstrap/decide", {"proposal": [qat.pk], "action": "reject"})
    technique = Technique.objects.get(slug="pruning")
    assert technique.owner_group.github_team == "tensorflow/tf-mot"
    assert technique.path_globs == ["/tensorflow_model_optimization/python/core/sparsity/"]
    assert technique.owner_group.maintainers.filter(github_login="alice").exists()
    assert technique.changes.filter(note__startswith="Bootstrapped").exists()
    before = list(BootstrapProposal.objects.order_by("pk").values("pk", "state", "data"))

    output = bootstrap(toolkit)
    after = list(BootstrapProposal.objects.order_by("pk").values("pk", "state", "data"))
    assert before == after
    assert "in the registry already: technique:pruning" in output
    assert Technique.objects.count() == 1 and OwnerGroup.objects.count() == 1
    assert BootstrapProposal.objects.get(pk=qat.pk).state == "rejected"


def test_only_staff_decide(db, toolkit, alice_client, client):
    bootstrap(toolkit)
    pruning = BootstrapProposal.objects.get(key="technique:pruning")
    data = {"proposal": [pruning.pk], "action": "confirm"}
    assert alice_client.post("/github/bootstrap/decide", data).status_code == 403
    assert alice_client.get("/github/bootstrap/").status_code == 403
    client.logout()
    assert client.post("/github/bootstrap/decide", data).status_code == 302
    assert not Technique.objects.exists()
    assert BootstrapProposal.objects.get(pk=pruning.pk).state == "pending"


def test_bootstrap_of_an_unknown_repository_says_so(db, fake_github):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="Could not read nobody/nothing"):
        call_command("bootstrap_repository", "nobody/nothing", api_url=fake_github.url)


def test_a_rename_seen_by_the_team_sync_renames_the_linked_account(
    team_group, github_client, fake_github
):
    from allauth.socialaccount.models import SocialAccount

    from tests.factories import UserFactory

    dave = UserFactory(username="dave")
    SocialAccount.objects.create(
        user=dave, provider="github", uid=str(fake_github.dataset.user_id("dave"))
    )
    team_sync(team_group, github_client)
    fake_github.dataset.rename_user("dave", "dave-tf")
    team_sync(team_group, github_client)
    dave.refresh_from_db()
    assert dave.username == "dave-tf"
    assert Technique.objects.owned_by(dave).filter(slug="pruning").exists()


def test_sync_github_teams_command(team_group, fake_github):
    out = StringIO()
    call_command("sync_github_teams", api_url=fake_github.url, stdout=out)
    assert "TF MOT: +2 -1 renamed 0" in out.getvalue()
    out = StringIO()
    call_command("sync_github_teams", api_url=fake_github.url, stdout=out)
    assert "TF MOT: unchanged (304)" in out.getvalue()


def test_bootstrap_refuses_a_malformed_repository_name(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="owner/name"):
        call_command("bootstrap_repository", "not a repo")


def test_a_bootstrap_decision_without_a_choice_says_what_is_missing(db, toolkit, carol_client):
    bootstrap(toolkit)
    pruning = BootstrapProposal.objects.get(key="technique:pruning")
    nothing = carol_client.post("/github/bootstrap/decide", {"action": "confirm"}, follow=True)
    assert "Select at least one proposal." in nothing.content.decode()
    no_action = carol_client.post(
        "/github/bootstrap/decide", {"proposal": [pruning.pk]}, follow=True
    )
    assert "Choose Confirm or Reject." in no_action.content.decode()
    unknown = carol_client.post(
        "/github/bootstrap/decide", {"proposal": ["99999"], "action": "confirm"}, follow=True
    )
    assert "99999" in unknown.content.decode()
    assert not Technique.objects.exists()
    assert BootstrapProposal.objects.get(pk=pruning.pk).state == "pending"


@pytest.fixture
def eager():
    """Tasks run in this process when sent, as a worker would run them."""
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


def test_members_leaving_the_team_are_history_audit_and_a_re_evaluation(
    team_group, github_client, fake_github, eager, django_capture_on_commit_callbacks
):
    """The team sync writes through the registry: members who left become emeritus with
    an audited update and a history line, and the ownership rules judge the group again
    once the sync commits, without waiting for the nightly evaluation."""
    with django_capture_on_commit_callbacks(execute=True):
        team_sync(team_group, github_client)
    pruning = team_group.techniques.get()
    assert not pruning.gaps.unresolved().filter(rule_id="two-maintainers").exists()
    fake_github.dataset.set_team("tensorflow/tf-mot", ["alice"])
    with django_capture_on_commit_callbacks(execute=True):
        result = team_sync(team_group, github_client)
    assert sorted(result.removed) == ["dave", "erin"]
    change = pruning.changes.filter(field="maintainers").first()
    assert "no longer in the team: @dave, @erin" in change.after
    dave = Maintainer.objects.get(github_login="dave")
    update = LogEntry.objects.get_for_object(dave).filter(action=LogEntry.Action.UPDATE).get()
    assert update.changes_dict["status"] == ["active", "emeritus"]
    assert pruning.gaps.unresolved().filter(rule_id="two-maintainers").exists()


def test_a_bootstrap_adding_maintainers_to_a_group_records_it(db, toolkit, carol):
    """Confirming a group proposal for a group the registry has already adds its missing
    maintainers through the registry, so the group's techniques' history says so."""
    group = OwnerGroupFactory(name="TF MOT", slug="tf-mot", github_team="tensorflow/tf-mot")
    technique = TechniqueFactory(slug="qat", owner_group=group)
    bootstrap(toolkit)
    proposal = BootstrapProposal.objects.get(key="team:tensorflow/tf-mot")
    proposal.data = {**proposal.data, "maintainers": ["alice", "Alice", "dave"]}
    proposal.save()
    bootstrap_decide([proposal.pk], carol, confirm=True)
    assert sorted(group.maintainers.values_list("github_login", flat=True)) == ["alice", "dave"]
    change = technique.changes.get(field="maintainers")
    assert change.after == "Bootstrapped from tensorflow/model-optimization: added @alice, @dave."
    assert change.changed_by == carol
