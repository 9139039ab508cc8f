"""Community figures and the GitHub-backed adherence rules: pass, fail, N/A by TOS,
threshold edges, and "no GitHub data yet"."""

from datetime import UTC, datetime, timedelta

import pytest

from adherence.engine import Status, evaluate
from ci_status.community import community_figures, percentile, triage_queue
from ci_status.models import CIRun, Comment, Issue, Label, Release, Repository
from tests.factories import MaintainerFactory, OwnerGroupFactory

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
PRUNING_API = "tensorflow_model_optimization/python/core/api/sparsity/keras/__init__.py"


@pytest.fixture
def repo(settings):
    settings.GITHUB_REPOSITORY = "tensorflow/model-optimization"
    return Repository.objects.create(full_name="tensorflow/model-optimization", last_synced_at=NOW)


_numbers = iter(range(1, 10_000))


def issue(repo, days_ago, labels=("technique:pruning",), kind="issue", **fields):
    created = NOW - timedelta(days=days_ago)
    fields.setdefault("author", "outsider")
    return Issue.objects.create(
        repository=repo,
        number=next(_numbers),
        kind=kind,
        title=fields.pop("title", f"Item {days_ago}"),
        state=fields.pop("state", "open"),
        labels=list(labels),
        created_at=created,
        updated_at=created,
        html_url="https://github.com/x",
        **fields,
    )


def respond(repo, item, login, after_hours, kind="comment", state="", bot=False):
    Comment.objects.create(
        repository=repo,
        kind=kind,
        github_id=next(_numbers),
        issue_number=item.number,
        author=login,
        author_is_bot=bot,
        author_association="MEMBER" if login in {"alice", "dave", "carol"} else "NONE",
        state=state,
        created_at=item.created_at + timedelta(hours=after_hours),
    )


def result(technique, rule, now=NOW):
    return evaluate([technique], now=now, rule_ids=[rule])[(technique.pk, rule)]


# --- figures -------------------------------------------------------------------------
def test_time_to_first_response_counts_maintainers_only(repo, pruning):
    a = issue(repo, 30)
    respond(repo, a, "google-ml-butler[bot]", 1, bot=True)  # bots never count
    respond(repo, a, "someone", 2)  # nor outsiders
    respond(repo, a, "alice", 10)
    b = issue(repo, 20)
    respond(repo, b, "dave", 30)
    c = issue(repo, 3)  # still waiting
    del c
    f = community_figures([pruning], NOW)[pruning.pk]
    assert f.synced
    assert f.responded == 2
    assert f.median_response_hours == 20.0
    assert f.p90_response_hours == 30.0
    assert len(f.unanswered) == 1 and f.open_issues == 3


def test_any_member_counts_when_no_maintainer_is_listed(repo, pruning):
    pruning.owner_group.maintainers.all().delete()
    item = issue(repo, 30)
    respond(repo, item, "carol", 5)  # MEMBER association
    f = community_figures([pruning], NOW)[pruning.pk]
    assert f.median_response_hours == 5.0


def test_percentile_nearest_rank():
    assert percentile(list(range(1, 11)), 0.9) == 9
    assert percentile([4.0], 0.9) == 4.0
    assert percentile([], 0.5) is None


def test_figures_cost_four_queries_whatever_the_number_of_techniques(
    repo, pruning, clustering, django_assert_num_queries
):
    for days in range(20):
        respond(repo, issue(repo, days), "alice", 3)
    with django_assert_num_queries(4):
        community_figures([pruning, clustering], NOW)


def test_research_prs_and_feature_requests_count_only_when_opted_in(repo, clustering):
    issue(repo, 30, labels=["technique:clustering", "feature request"])
    issue(repo, 30, labels=["technique:clustering"], kind="pr")
    f = community_figures([clustering], NOW)[clustering.pk]
    assert f.open_issues == f.open_prs == 0
    assert f.excluded_by_tos == ["pull requests", "feature requests"]
    clustering.accepts_prs = clustering.accepts_feature_requests = True
    f = community_figures([clustering], NOW)[clustering.pk]
    assert f.open_issues == f.open_prs == 1


def test_triage_queue_suggests_the_label(repo, pruning, clustering):
    issue(repo, 9, labels=[], title="tfmot.sparsity.keras crashes on TF 2.16")
    issue(repo, 8, labels=[], kind="pr", files=["tensorflow_model_optimization/clustering/x.py"])
    issue(repo, 8, labels=["bug"], title="Nothing to do with any technique")
    issue(repo, 8, labels=["technique:pruning"], title="Already labeled pruning")
    queue = triage_queue([pruning, clustering], NOW)
    assert [e["labels"] for e in queue] == [["technique:pruning"], ["technique:clustering"]]
    assert "mentions" in queue[0]["reasons"][0] and "touches" in queue[1]["reasons"][0]


# --- questions-answered --------------------------------------------------------------
def test_questions_answered_without_data_is_na_not_pass(pruning):
    r = result(pruning, "questions-answered")
    assert r.status == Status.NA and "no github data yet" in r.summary.lower()


def test_questions_answered_passes_when_answered(repo, pruning):
    respond(repo, issue(repo, 40), "alice", 2)
    assert result(pruning, "questions-answered").status == Status.PASS


def test_questions_answered_fails_after_the_threshold(repo, pruning):
    issue(repo, 15)
    r = result(pruning, "questions-answered")
    assert r.status == Status.FAIL
    assert r.links and r.evidence["threshold_days"] == 14


def test_questions_answered_edge_exactly_14_days_is_not_late(repo, pruning):
    issue(repo, 14)
    assert result(pruning, "questions-answered").status == Status.PASS
    assert result(pruning, "questions-answered", NOW + timedelta(seconds=1)).status == Status.FAIL


def test_questions_answered_applies_to_research_too(repo, clustering):
    issue(repo, 20, labels=["technique:clustering"])
    assert result(clustering, "questions-answered").status == Status.FAIL


# --- prs-reviewed --------------------------------------------------------------------
def test_prs_reviewed_pass_fail_and_edge(repo, pruning):
    reviewed = issue(repo, 30, kind="pr")
    respond(repo, reviewed, "dave", 5, kind="review", state="COMMENTED")
    assert result(pruning, "prs-reviewed").status == Status.PASS
    issue(repo, 14, kind="pr")
    assert result(pruning, "prs-reviewed").status == Status.PASS
    assert result(pruning, "prs-reviewed", NOW + timedelta(minutes=1)).status == Status.FAIL


def test_prs_reviewed_draft_prs_do_not_wait(repo, pruning):
    issue(repo, 40, kind="pr", draft=True)
    assert result(pruning, "prs-reviewed").status == Status.PASS


def test_prs_reviewed_is_na_for_research_unless_it_accepts_prs(repo, clustering):
    issue(repo, 30, labels=["technique:clustering"], kind="pr")
    assert result(clustering, "prs-reviewed").status == Status.NA
    clustering.accepts_prs = True
    assert result(clustering, "prs-reviewed").status == Status.FAIL


# --- unlabeled-triage ----------------------------------------------------------------
def test_unlabeled_triage(repo, pruning, clustering):
    assert result(pruning, "unlabeled-triage").status == Status.PASS
    issue(repo, 7, labels=[], title="Weight pruning question")
    assert result(pruning, "unlabeled-triage").status == Status.PASS  # exactly 7 days
    r = result(pruning, "unlabeled-triage", NOW + timedelta(hours=1))
    assert r.status == Status.FAIL and "technique:pruning" in r.summary
    assert result(clustering, "unlabeled-triage").status == Status.NA


def test_unlabeled_triage_without_data(pruning):
    assert result(pruning, "unlabeled-triage").status == Status.NA


# --- release-notes -------------------------------------------------------------------
def release(repo, tag, days_ago, notes=""):
    return Release.objects.create(
        repository=repo, tag=tag, notes=notes, published_at=NOW - timedelta(days=days_ago)
    )


def merged_pr(repo, days_ago, labels=("technique:pruning",), files=None, **fields):
    when = NOW - timedelta(days=days_ago)
    return issue(
        repo,
        days_ago + 2,
        labels=labels,
        kind="pr",
        state="closed",
        merged_at=when,
        closed_at=when,
        files=files,
        **fields,
    )


def test_release_notes_pass_and_fail(repo, pruning):
    release(repo, "v0.8.0", 100)
    release(repo, "v0.8.1", 10, notes="Fixes for numpy 2.")
    assert result(pruning, "release-notes").status == Status.PASS  # nothing shipped
    merged_pr(repo, 50)
    r = result(pruning, "release-notes")
    assert r.status == Status.FAIL and "v0.8.1" in r.summary
    Release.objects.filter(tag="v0.8.1").update(notes="Pruning: a faster mask update.")
    assert result(pruning, "release-notes").status == Status.PASS


def test_release_notes_edge_pr_merged_with_the_previous_release(repo, pruning):
    release(repo, "v0.8.0", 100)
    release(repo, "v0.8.1", 10)
    merged_pr(repo, 100)  # merged at the previous release's time: it shipped there
    assert result(pruning, "release-notes").status == Status.PASS


def test_release_notes_research_only_when_provided(repo, clustering):
    release(repo, "v0.8.0", 100)
    release(repo, "v0.8.1", 10)
    merged_pr(repo, 50, labels=["technique:clustering"])
    assert result(clustering, "release-notes").status == Status.NA
    clustering.provides_release_notes = True
    assert result(clustering, "release-notes").status == Status.FAIL


def test_release_notes_without_data(pruning):
    assert result(pruning, "release-notes").status == Status.NA


# --- api-review ----------------------------------------------------------------------
def test_api_review(repo, pruning):
    # TFMOT staff are the members of the "tf-mot" owner group (alice and dave here).
    other = OwnerGroupFactory(name="Arm", slug="arm")
    MaintainerFactory(group=other, github_login="bob")
    merged_pr(repo, 10, files=["tensorflow_model_optimization/python/core/sparsity/x.py"])
    assert result(pruning, "api-review").status == Status.PASS  # no API change
    merged_pr(repo, 10, files=[PRUNING_API], approved_by=["Alice"])
    merged_pr(repo, 10, labels=["technique:pruning", "api-review"], files=[PRUNING_API])
    assert result(pruning, "api-review").status == Status.PASS
    bad = merged_pr(repo, 10, files=[PRUNING_API], approved_by=["bob"])
    r = result(pruning, "api-review")
    assert r.status == Status.FAIL and r.evidence["pulls"] == [bad.number]


def test_api_review_window_edge(repo, pruning):
    merged_pr(repo, 181, files=[PRUNING_API])
    assert result(pruning, "api-review").status == Status.PASS


def test_api_review_is_na_for_research(repo, clustering):
    assert result(clustering, "api-review").status == Status.NA


# --- ci-green ------------------------------------------------------------------------
def ci_run(repo, hours_ago, conclusion, run_id, branch="master", event="push"):
    created = NOW - timedelta(hours=hours_ago)
    return CIRun.objects.create(
        repository=repo,
        run_id=run_id,
        workflow="CI",
        branch=branch,
        event=event,
        status="completed",
        conclusion=conclusion,
        created_at=created,
        started_at=created,
        finished_at=created + timedelta(minutes=20),
    )


def test_ci_green(repo, pruning, clustering):
    assert result(pruning, "ci-green").status == Status.NA  # synced, but no run
    ci_run(repo, 50, "success", 1)
    ci_run(repo, 24, "failure", 2)
    ci_run(repo, 2, "failure", 3)
    ci_run(repo, 1, "success", 4, branch="feature")  # other branches do not count
    r = result(pruning, "ci-green")
    assert r.status == Status.PASS  # red for exactly 24 hours: not more
    assert result(pruning, "ci-green", NOW + timedelta(minutes=1)).status == Status.FAIL
    assert result(clustering, "ci-green", NOW + timedelta(minutes=1)).status == Status.FAIL
    ci_run(repo, 0, "success", 5)
    assert result(pruning, "ci-green", NOW + timedelta(minutes=1)).status == Status.PASS


def test_ci_green_leaves_convergence_workflows_to_their_own_rules(repo, pruning):
    ci_run(repo, 50, "success", 1)
    red = ci_run(repo, 40, "failure", 2)
    red.workflow = "Convergence tests"
    red.save()
    assert result(pruning, "ci-green").status == Status.PASS


def test_ci_green_without_data(pruning):
    assert result(pruning, "ci-green").status == Status.NA


# --- facts for the other rules -------------------------------------------------------
def test_repo_labels_and_maintainer_activity_facts(repo, pruning):
    from adherence.engine import load_facts

    Label.objects.create(repository=repo, name="technique:pruning")
    facts = load_facts([pruning], NOW)
    assert facts["repo_labels"][pruning.pk] == {"technique:pruning"}
    assert set(facts["maintainer_activity"][pruning.pk]) == {"alice", "dave"}
    Repository.objects.update(last_synced_at=None)
    assert load_facts([pruning], NOW)["repo_labels"][pruning.pk] is None
