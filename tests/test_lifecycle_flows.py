"""Lifecycle: launch guard and override, deprecation and call for owners, TOS switch,
GitHub ownership checks against the project's server."""

import re
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from adherence import engine
from adherence.engine import Status
from fake_github.demo import demo_dataset
from fake_github.server import FakeGitHub
from github import GitHubClient
from lifecycle.models import ContributionStep, OwnerInterest, OwnershipCheck
from lifecycle.permissions import DECIDE_TOS
from lifecycle.selectors import lifecycle_page
from lifecycle.services import (
    codeowners_drift,
    deprecation_start,
    interest_moderate,
    interest_submit,
    ownership_check,
    parse_codeowners,
    steps_ensure,
    technique_launch,
    tos_change_decide,
    tos_change_request,
)
from techniques.models import Technique
from techniques.services import technique_save
from tests.factories import TechniqueFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def proposal(pruning):
    technique = TechniqueFactory(
        slug="proposal", stage="proposed", launch_date=None, owner_group=pruning.owner_group
    )
    steps_ensure(technique)
    return technique


def test_launch_is_refused_while_required_steps_are_open(proposal, carol):
    proposal.stage, proposal.launch_date = "launched", date(2026, 11, 1)
    with pytest.raises(ValidationError) as info:
        technique_save(proposal, user=carol)
    assert "Proposal RFC with deployment metrics" in str(info.value)
    assert Technique.objects.get(pk=proposal.pk).stage == "proposed"


def test_launch_passes_when_required_steps_are_done_blog_post_optional(proposal, carol):
    ContributionStep.objects.filter(technique=proposal).exclude(step="blog_post").update(
        state="done"
    )
    proposal.stage, proposal.launch_date = "launched", date(2026, 11, 1)
    technique_save(proposal, user=carol)
    assert Technique.objects.get(pk=proposal.pk).stage == "launched"


def test_staff_override_is_recorded_and_owners_cannot_override(proposal, alice, carol):
    proposal.stage, proposal.launch_date = "launched", date(2026, 11, 1)
    with pytest.raises(PermissionDenied):
        technique_save(proposal, user=alice, override="we are ready")
    technique_save(proposal, user=carol, override="Blog and guide follow next week")
    change = proposal.changes.get(field="stage")
    assert change.after == "launched" and "Override: Blog and guide follow next week" in change.note


def test_pipeline_page_is_public_and_bounded(client, proposal, query_counts):
    def grow(size):
        for _ in range(size):
            steps_ensure(TechniqueFactory(stage="in_development", launch_date=None))

    def read():
        assert client.get("/pipeline/").status_code == 200

    small, large = query_counts(grow, read, at_most=8, sizes=(5, 5))
    assert small == large
    assert "Proposal RFC with deployment metrics" in client.get("/pipeline/").content.decode()


def test_deprecation_flow_with_moderated_call_for_owners(client, pruning, alice, bob, carol):
    with pytest.raises(PermissionDenied):
        deprecation_start(pruning, alice, "lack_of_people", date(2027, 6, 1))
    with pytest.raises(ValidationError):
        deprecation_start(pruning, carol, "", None)
    deprecation = deprecation_start(
        pruning, carol, "lack_of_people", date(2027, 6, 1), call_for_owners=True
    )
    pruning.refresh_from_db()
    assert pruning.stage == "deprecating"
    page = client.get("/techniques/pruning/").content.decode()
    assert "this technique is being retired" in page and "Call for owners" in page
    offer = interest_submit(deprecation, bob, "I can review PRs weekly.")
    with pytest.raises(ValidationError, match="already offered"):
        interest_submit(deprecation, bob, "again")
    assert "I can review PRs weekly." not in client.get("/techniques/pruning/").content.decode()
    with pytest.raises(PermissionDenied):
        interest_moderate(offer, alice, approve=True)
    interest_moderate(offer, carol, approve=True)
    assert OwnerInterest.objects.get(pk=offer.pk).status == "approved"
    assert "I can review PRs weekly." in client.get("/techniques/pruning/").content.decode()


def test_deprecation_owners_rule(pruning, carol):
    deprecation = deprecation_start(
        pruning, carol, "lack_of_people", date(2027, 6, 1), call_for_owners=False
    )
    pruning.refresh_from_db()
    result = engine.evaluate([pruning], rule_ids=["deprecation-owners"])[
        (pruning.pk, "deprecation-owners")
    ]
    assert result.status == Status.FAIL
    deprecation.call_for_owners = True
    deprecation.save()
    assert (
        engine.evaluate([pruning], rule_ids=["deprecation-owners"])[
            (pruning.pk, "deprecation-owners")
        ].status
        == Status.PASS
    )


def test_tos_switch_is_approved_by_staff_and_duties_count_from_then(clustering, bob, carol, alice):
    with pytest.raises(PermissionDenied):
        tos_change_request(clustering, alice, "production", "not mine")
    request = tos_change_request(clustering, bob, "production", "Used in production by partners.")
    with pytest.raises(PermissionDenied):
        tos_change_decide(request, bob, approve=True)
    approved_at = datetime(2026, 11, 20, 12, tzinfo=timezone.get_fixed_timezone(0))
    tos_change_decide(request, carol, approve=True, now=approved_at)
    clustering.refresh_from_db()
    assert clustering.tos_level == "production"
    assert clustering.changes.get(field="tos_level").changed_at == approved_at
    with time_machine.travel(approved_at + timedelta(days=3), tick=False):
        facts = engine.load_facts([clustering], timezone.now())
        assert facts["tos_since"][clustering.pk] == approved_at
        f = engine.Facts(facts, clustering.pk, timezone.now())
        f.duty_start = facts["tos_since"][clustering.pk]
        # A PR opened 30 days before the switch has waited 3 days under the production TOS.
        assert f.counts_from(approved_at - timedelta(days=30)) == approved_at


def test_codeowners_parsing_and_drift_both_ways():
    text = "# comment\n/a/ @alice @old\nb/ @bob  # trailing\n"
    parsed = parse_codeowners(text)
    assert parsed == {"/a/": ["@alice", "@old"], "/b/": ["@bob"]}
    missing, extra = codeowners_drift(
        {"/a/": ["@alice", "@dave"], "/c/": ["@x"]}, parsed, ["/a/", "/c/"]
    )
    assert missing == [
        {"pattern": "/a/", "owners": ["@dave"]},
        {"pattern": "/c/", "owners": ["@x"]},
    ]
    assert extra == [{"pattern": "/a/", "owners": ["@old"]}]


def test_a_codeowners_line_naming_the_team_covers_its_members():
    """A group synced from a GitHub team: the file may name the team alone."""
    registry = {"/a/": ["@alice", "@dave", "@tensorflow/tf-mot"]}
    team_only = parse_codeowners("/a/ @TensorFlow/tf-mot\n")
    teams = {"@tensorflow/tf-mot": {"@alice", "@dave"}}
    assert codeowners_drift(registry, team_only, ["/a/"], teams) == ([], [])
    # Without the team's members known, the same file lacks both maintainers.
    missing, _ = codeowners_drift(registry, team_only, ["/a/"])
    assert missing == [{"pattern": "/a/", "owners": ["@alice", "@dave"]}]


def test_ownership_check_against_the_project_github_server(carol):
    from techniques.demo import load as load_registry

    load_registry()
    dataset = demo_dataset()
    with FakeGitHub(dataset) as server:
        ownership_check(
            GitHubClient(dataset.full_name, base_url=server.url, token="", backoff=0.05)
        )
    check = OwnershipCheck.objects.get(technique__slug="weight-compression-api")
    assert check.permissions == {"frank": "read"}
    # The demo's weight compression API is in development; triage access binds from launch.
    Technique.objects.filter(slug="weight-compression-api").update(stage="launched")
    techniques = list(Technique.objects.filter(slug="weight-compression-api"))
    result = engine.evaluate(techniques, rule_ids=["maintainers-triage"])[
        (techniques[0].pk, "maintainers-triage")
    ]
    assert result.status == Status.FAIL and "@frank (read)" in result.summary


def test_lifecycle_page_permissions(client, pruning, alice, bob, carol):
    deprecation = {"reason": "other", "planned_on": "2027-01-01"}
    assert client.get("/lifecycle/pruning/").status_code == 302
    client.force_login(bob)
    assert client.get("/lifecycle/pruning/").status_code == 403
    assert client.post("/lifecycle/pruning/deprecate", deprecation).status_code == 403
    client.force_login(alice)
    assert client.get("/lifecycle/pruning/").status_code == 200
    assert client.post("/lifecycle/pruning/deprecate", deprecation).status_code == 403
    assert client.post("/lifecycle/pruning/launch", {}).status_code == 403
    assert Technique.objects.get(pk=pruning.pk).stage == "launched"
    client.force_login(carol)
    assert client.get("/lifecycle/ownership/").status_code == 200


def test_a_technique_entering_the_pipeline_gets_its_checklist_and_the_guard(carol):
    technique = TechniqueFactory(slug="new-idea", stage="proposed", launch_date=None)
    assert technique.contribution_steps.count() == 12
    technique.stage, technique.launch_date = "launched", date(2026, 11, 1)
    with pytest.raises(ValidationError, match="required contribution steps are open"):
        technique_save(technique, user=carol)


def test_access_and_codeowners_problems_date_from_the_first_check_that_found_them(carol):
    """GitHub keeps no history of access or of CODEOWNERS drift: a problem dates from the
    first ownership check that saw it (kept while it lasts), never from the launch."""
    from techniques.demo import load as load_registry

    load_registry()
    dataset = demo_dataset(with_codeowners=True)  # a CODEOWNERS that drifts
    first, second = datetime(2026, 11, 2, 9, tzinfo=UTC), datetime(2026, 11, 9, 9, tzinfo=UTC)
    with FakeGitHub(dataset) as server:
        client = GitHubClient(dataset.full_name, base_url=server.url, token="", backoff=0.05)
        ownership_check(client, now=first)
        ownership_check(client, now=second)
    check = OwnershipCheck.objects.get(technique__slug="tensor-encoding")
    assert check.checked_at == second and check.codeowners_drift_since == first
    technique = Technique.objects.get(slug="tensor-encoding")
    assert technique.launch_date < first.date()
    with time_machine.travel(second + timedelta(days=1)):
        drift = engine.evaluate([technique], rule_ids=["codeowners-drift"])[
            (technique.pk, "codeowners-drift")
        ]
    assert drift.status == Status.FAIL and drift.since == first
    weight_compression = OwnershipCheck.objects.get(technique__slug="weight-compression-api")
    assert weight_compression.triage_lacking_since == first  # @frank has read access only
    # Once nothing is found, the date goes: a new problem would start its own.
    Technique.objects.filter(pk=technique.pk).update(path_globs=[])
    with FakeGitHub(dataset) as server:
        client = GitHubClient(dataset.full_name, base_url=server.url, token="", backoff=0.05)
        ownership_check(client, now=second + timedelta(days=7))
    check.refresh_from_db()
    assert check.codeowners_drift_since is None and not check.missing_in_codeowners


def test_without_codeowners_no_technique_drifts_and_the_check_says_why(client, carol):
    """tensorflow/model-optimization has no CODEOWNERS (its labeler.yml attributes paths
    by label): the drift rule is N/A for every technique, not a gap for each."""
    from techniques.demo import load as load_registry

    load_registry()
    dataset = demo_dataset()  # the real repository's files: labeler.yml, no CODEOWNERS
    assert ".github/CODEOWNERS" not in dataset.files
    with FakeGitHub(dataset) as server:
        ownership_check(GitHubClient(dataset.full_name, base_url=server.url, token=""))
    techniques = list(Technique.objects.filter(stage="launched").exclude(path_globs=[]))
    results = engine.evaluate(techniques, rule_ids=["codeowners-drift"])
    assert techniques and {r.status for r in results.values()} == {Status.NA}
    assert all("no CODEOWNERS file" in r.summary for r in results.values())
    assert not OwnershipCheck.objects.filter(has_codeowners=True).exists()
    client.force_login(carol)
    page = client.get("/lifecycle/ownership/").content.decode()
    assert "no CODEOWNERS file: attribution by labels" in page and "missing @" not in page


def test_a_refused_lifecycle_form_comes_back_as_it_was_filled_in(
    client, pruning, clustering, carol
):
    client.force_login(carol)
    justification = "Owners left; the research terms fit what we can promise now. " * 100
    response = client.post(
        "/lifecycle/pruning/tos", {"to_level": "research", "justification": justification}
    )
    page = response.content.decode()
    assert response.status_code == 400  # too long: the field holds 5,000 characters
    assert justification.strip() in page
    assert '<option value="research" selected>' in page
    explanation = "Superseded by clustering; the owners agreed on the mailing list."
    response = client.post(
        "/lifecycle/pruning/deprecate",
        {
            "reason": "superseded",
            "planned_on": "not a date",
            "replacement": str(clustering.pk),
            "explanation": explanation,
            "call_for_owners": "on",
        },
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert explanation in page and 'value="not a date"' in page
    assert f'<option value="{clustering.pk}" selected>' in page
    assert '<option value="superseded" selected>' in page
    assert 'name="call_for_owners" id="id_call_for_owners" checked' in page
    assert not pruning.tos_requests.exists()


def test_a_refused_offer_to_help_comes_back_to_correct(client, pruning, bob, carol):
    deprecation_start(pruning, carol, "lack_of_people", date(2027, 6, 1), call_for_owners=True)
    client.force_login(bob)
    page = client.get("/techniques/pruning/").content.decode()
    assert 'name="message"' in page and 'data-limit="2000"' in page  # the form's own length
    message = "I maintain a fork used in production and can review PRs weekly. " * 40
    response = client.post("/lifecycle/pruning/help", {"message": message})
    assert response.status_code == 400
    assert message.strip() in response.content.decode()
    assert not OwnerInterest.objects.exists()
    response = client.post("/lifecycle/pruning/help", {"message": message[:500]})
    assert response.status_code == 302 and OwnerInterest.objects.count() == 1


def _button(page: str, action: str, label: str) -> dict[str, str]:
    """The name and value of the button labelled ``label`` in the form posting to ``action``."""
    form = page.split(f'action="{action}"', 1)[1].split("</form>", 1)[0]
    button = re.search(rf'name="(\w+)" value="(\w+)"[^>]*>{label}</button>', form)
    assert button, f"no {label!r} button posts to {action}"
    return {button[1]: button[2]}


def test_the_team_decides_with_the_lifecycle_pages_buttons(client, clustering, bob, carol):
    """The buttons the page draws are what the decision forms accept: the team approves a
    TOS change and lists an offer to help by pressing them."""
    change = tos_change_request(clustering, bob, "production", "Used in production by partners.")
    deprecation = deprecation_start(clustering, carol, "lack_of_people", date(2027, 6, 1))
    offer = interest_submit(deprecation, bob, "I can review PRs weekly.")
    client.force_login(carol)
    page = client.get(f"/lifecycle/{clustering.slug}/").content.decode()

    decide = f"/lifecycle/tos-requests/{change.pk}/decide"
    response = client.post(decide, {**_button(page, decide, "Approve"), "note": "Agreed."})
    assert response.status_code == 302
    clustering.refresh_from_db()
    assert clustering.tos_level == "production"

    moderate = f"/lifecycle/offers/{offer.pk}/moderate"
    assert client.post(moderate, _button(page, moderate, "Do not list")).status_code == 302
    assert OwnerInterest.objects.get(pk=offer.pk).status == "rejected"


def test_a_step_row_shows_its_note_and_a_refused_row_comes_back_as_typed(client, proposal, carol):
    """Each checklist row is its step's form: saving the row keeps the step's note (it is
    drawn, so it is sent back), and a refused row answers with what was typed in it."""
    step = proposal.contribution_steps.get(step="proposal_rfc")
    step.note = "RFC agreed at the design review."
    step.save()
    client.force_login(carol)
    page = client.get(f"/lifecycle/{proposal.slug}/").content.decode()
    note = re.search(rf'<input [^>]*id="step-{step.pk}-note"[^>]*>', page)
    assert note and 'value="RFC agreed at the design review."' in note[0]

    typed = {"state": "done", "link": "javascript:alert(1)", "note": "Linked the RFC."}
    response = client.post(f"/lifecycle/steps/{step.pk}", typed)
    page = response.content.decode()
    assert response.status_code == 400 and "Enter a valid URL" in page
    row = page.split(f'action="/lifecycle/steps/{step.pk}"', 1)[1].split("</form>", 1)[0]
    assert 'value="javascript:alert(1)"' in row and 'value="Linked the RFC."' in row
    assert 'value="done" selected' in row
    step.refresh_from_db()
    assert step.note == "RFC agreed at the design review." and step.state == "open"


@pytest.mark.parametrize("stage", ["launched", "deprecating", "deprecated"])
def test_a_staff_post_cannot_relaunch_a_launched_or_deprecated_technique(
    client, pruning, carol, stage
):
    """Launching is for proposed techniques and those in development: the service refuses
    the others (the page offers no Launch form), whatever a POST asks."""
    Technique.objects.filter(pk=pruning.pk).update(stage=stage)
    pruning.refresh_from_db()
    with pytest.raises(ValidationError, match="only a proposed technique"):
        technique_launch(pruning, carol)
    client.force_login(carol)
    page = client.get(f"/lifecycle/{pruning.slug}/").content.decode()
    assert f'action="/lifecycle/{pruning.slug}/launch"' not in page
    response = client.post(f"/lifecycle/{pruning.slug}/launch", {"launch_date": "2026-12-01"})
    assert response.status_code == 400
    assert "only a proposed technique or one in development can be launched" in (
        response.content.decode()
    )
    assert Technique.objects.get(pk=pruning.pk).stage == stage
    assert not pruning.changes.filter(field="stage").exists()


def test_the_requester_sees_no_decision_buttons_and_another_team_member_does(
    client, clustering, carol
):
    """The approve and reject buttons show only to who ``DECIDE_TOS`` lets decide: not to
    the staff member who asked, whom the decision refuses with the permission's words."""
    dan = UserFactory(username="dan", is_staff=True)
    change = tos_change_request(clustering, carol, "production", "Partners run it in production.")
    decide = f"/lifecycle/tos-requests/{change.pk}/decide"
    client.force_login(carol)
    assert f'action="{decide}"' not in client.get(f"/lifecycle/{clustering.slug}/").content.decode()
    with pytest.raises(PermissionDenied) as refused:
        tos_change_decide(change, carol, approve=True)
    assert str(refused.value) == DECIDE_TOS.refusal
    client.force_login(dan)
    assert f'action="{decide}"' in client.get(f"/lifecycle/{clustering.slug}/").content.decode()


@pytest.mark.parametrize("stage", ["deprecating", "deprecated"])
def test_a_deprecated_technique_cannot_be_saved_launched_again(pruning, carol, stage):
    """ "May launch" is the model's rule: a save that moves a deprecating or deprecated
    technique back to launched (the admin's form, any service) is refused by its clean."""
    Technique.objects.filter(pk=pruning.pk).update(stage=stage)
    pruning.refresh_from_db()
    pruning.stage = "launched"
    with pytest.raises(ValidationError) as refused:
        technique_save(pruning, user=carol)
    assert "only a proposed technique or one in development can be launched" in str(
        refused.value.message_dict["stage"]
    )
    assert Technique.objects.get(pk=pruning.pk).stage == stage


def test_the_lifecycle_page_offers_the_forms_its_services_accept(client, pruning, carol, alice):
    """The page's flags come from the permissions the services check: an owner sees no
    Launch, deprecation or moderation form, a staff member does on a technique in
    development, and nobody sees Launch on a launched one."""
    developing = TechniqueFactory(
        slug="developing", stage="in_development", launch_date=None, owner_group=pruning.owner_group
    )
    for technique, user, shown in [
        (developing, carol, True),
        (developing, alice, False),
        (pruning, carol, False),
    ]:
        page = lifecycle_page(technique, user)
        assert page["may_launch"] is shown
        assert page["may_deprecate"] is user.is_staff
        client.force_login(user)
        html = client.get(f"/lifecycle/{technique.slug}/").content.decode()
        assert (f'action="/lifecycle/{technique.slug}/launch"' in html) is shown
        assert (f'action="/lifecycle/{technique.slug}/deprecate"' in html) is user.is_staff
        if shown:
            technique_launch(technique, user, override="Steps tracked elsewhere.")


def test_the_requester_is_told_another_team_member_decides(client, clustering, carol):
    dan = UserFactory(username="dan", is_staff=True)
    change = tos_change_request(clustering, carol, "production", "Partners run it in production.")
    (own,) = lifecycle_page(clustering, carol)["tos_requests"]
    (other,) = lifecycle_page(clustering, dan)["tos_requests"]
    assert (own.may_decide, own.is_own_pending) == (False, True)
    assert (other.may_decide, other.is_own_pending) == (True, False)
    client.force_login(dan)
    queue = client.get("/lifecycle/tos-requests/").content.decode()
    assert f'action="/lifecycle/tos-requests/{change.pk}/decide"' in queue
    client.force_login(carol)
    queue = client.get("/lifecycle/tos-requests/").content.decode()
    assert f'action="/lifecycle/tos-requests/{change.pk}/decide"' not in queue
    assert "Your request: another member of the TFMOT team decides it." in queue
