"""Community figures and the GitHub-backed adherence rules: pass, fail, N/A by TOS,
threshold edges, and "no GitHub data yet"."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from adherence.engine import Status, evaluate
from ci_status import selectors, services
from ci_status.community import percentile
from ci_status.models import CIRun, Release, Repository
from tests.factories import (
    CIRunFactory,
    CommentFactory,
    IssueFactory,
    LabelFactory,
    MaintainerFactory,
    OwnerGroupFactory,
    PullRequestFactory,
    ReleaseFactory,
    RepositoryFactory,
)

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
PRUNING_API = "tensorflow_model_optimization/python/core/api/sparsity/keras/__init__.py"
PRUNING = ["technique:pruning"]
CLUSTERING = ["technique:clustering"]


def days_ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


@pytest.fixture
def repo(settings):
    settings.GITHUB_REPOSITORY = "tensorflow/model-optimization"
    return RepositoryFactory(last_synced_at=NOW)


def refreshed(now=NOW):
    """Store the community figures as a sync would after these writes."""
    for repository in Repository.objects.all():
        services.community_refresh(repository, None, now)


def community_figures(techniques, now=NOW):
    refreshed(now)
    return selectors.community_figures(techniques, now)


def triage_queue(techniques, now=NOW):
    refreshed(now)
    return selectors.triage_queue(techniques, now)


def result(technique, rule, now=NOW):
    refreshed(now)
    return evaluate([technique], now=now, rule_ids=[rule])[(technique.pk, rule)]


# --- figures -------------------------------------------------------------------------
def test_both_first_responses(repo, pruning):
    a = IssueFactory(created_at=days_ago(30), labels=PRUNING)
    # bots never count
    CommentFactory(issue=a, author="google-ml-butler[bot]", after_hours=1, author_is_bot=True)
    CommentFactory(issue=a, author="someone", after_hours=2)  # nor outsiders
    CommentFactory(issue=a, author="alice", after_hours=10, member=True)
    b = IssueFactory(created_at=days_ago(20), labels=PRUNING)
    CommentFactory(issue=b, author="dave", after_hours=30, member=True)
    IssueFactory(created_at=days_ago(3), labels=PRUNING)  # still waiting
    f = community_figures([pruning], NOW)[pruning.pk]
    assert f.synced
    assert f.maintainer_responded == 2  # the maintainers' answers: alice, dave
    assert f.median_maintainer_response_hours == 20.0
    assert f.p90_maintainer_response_hours == 30.0
    assert f.median_response_days == 20.0 / 24  # what the rule and the page judge
    assert f.responded == 2  # anyone but the author and bots: someone, dave
    assert f.median_response_hours == 16.0
    assert len(f.unanswered) == 1 and f.open_issues == 3
    a.refresh_from_db()
    assert (a.first_response_by, a.first_maintainer_response_by) == ("someone", "alice")


def test_any_member_counts_when_no_maintainer_is_listed(repo, pruning):
    pruning.owner_group.maintainers.all().delete()
    item = IssueFactory(created_at=days_ago(30), labels=PRUNING)
    CommentFactory(issue=item, author="carol", after_hours=5, member=True)  # MEMBER association
    f = community_figures([pruning], NOW)[pruning.pk]
    assert f.median_maintainer_response_hours == 5.0


def test_percentile_nearest_rank():
    assert percentile(list(range(1, 11)), 0.9) == 9
    assert percentile([4.0], 0.9) == 4.0
    assert percentile([], 0.5) is None


def test_reading_figures_costs_two_queries_whatever_the_number_of_techniques(
    repo, pruning, clustering, django_assert_num_queries
):
    for days in range(20):
        CommentFactory(
            issue=IssueFactory(created_at=days_ago(days), labels=PRUNING),
            author="alice",
            after_hours=3,
            member=True,
        )
    refreshed()
    with django_assert_num_queries(2):
        selectors.community_figures([pruning, clustering], NOW)


def test_research_prs_and_feature_requests_count_only_when_opted_in(repo, clustering):
    IssueFactory(created_at=days_ago(30), labels=["technique:clustering", "feature request"])
    PullRequestFactory(created_at=days_ago(30), labels=CLUSTERING)
    f = community_figures([clustering], NOW)[clustering.pk]
    assert f.open_issues == f.open_prs == 0
    assert f.excluded_by_tos == ["pull requests", "feature requests"]
    clustering.accepts_prs = clustering.accepts_feature_requests = True
    clustering.save()
    f = community_figures([clustering], NOW)[clustering.pk]
    assert f.open_issues == f.open_prs == 1


def test_triage_queue_suggests_the_label(repo, pruning, clustering):
    IssueFactory(created_at=days_ago(9), title="tfmot.sparsity.keras crashes on TF 2.16")
    PullRequestFactory(
        created_at=days_ago(8), files=["tensorflow_model_optimization/clustering/x.py"]
    )
    IssueFactory(created_at=days_ago(8), labels=["bug"], title="Nothing to do with any technique")
    IssueFactory(created_at=days_ago(8), labels=PRUNING, title="Already labeled pruning")
    queue = triage_queue([pruning, clustering], NOW)
    assert [e["labels"] for e in queue] == [["technique:pruning"], ["technique:clustering"]]
    assert "mentions" in queue[0]["reasons"][0] and "touches" in queue[1]["reasons"][0]


# --- questions-answered --------------------------------------------------------------
def test_questions_answered_without_data_is_na_not_pass(pruning):
    r = result(pruning, "questions-answered")
    assert r.status == Status.NA and "no github data yet" in r.summary.lower()


def test_questions_answered_passes_when_answered(repo, pruning):
    asked = IssueFactory(created_at=days_ago(40), labels=PRUNING)
    CommentFactory(issue=asked, author="alice", after_hours=2, member=True)
    assert result(pruning, "questions-answered").status == Status.PASS


def test_questions_answered_fails_after_the_threshold(repo, pruning):
    IssueFactory(created_at=days_ago(15), labels=PRUNING)
    r = result(pruning, "questions-answered")
    assert r.status == Status.FAIL
    assert r.links and r.evidence["threshold_days"] == 14


def test_questions_answered_edge_exactly_14_days_is_not_late(repo, pruning):
    IssueFactory(created_at=days_ago(14), labels=PRUNING)
    assert result(pruning, "questions-answered").status == Status.PASS
    assert result(pruning, "questions-answered", NOW + timedelta(seconds=1)).status == Status.FAIL


def test_questions_answered_applies_to_research_too(repo, clustering):
    IssueFactory(created_at=days_ago(20), labels=CLUSTERING)
    assert result(clustering, "questions-answered").status == Status.FAIL


# --- prs-reviewed --------------------------------------------------------------------
def test_prs_reviewed_pass_fail_and_edge(repo, pruning):
    reviewed = PullRequestFactory(created_at=days_ago(30), labels=PRUNING)
    CommentFactory(issue=reviewed, author="dave", after_hours=5, member=True, review=True)
    assert result(pruning, "prs-reviewed").status == Status.PASS
    PullRequestFactory(created_at=days_ago(14), labels=PRUNING)
    assert result(pruning, "prs-reviewed").status == Status.PASS
    assert result(pruning, "prs-reviewed", NOW + timedelta(minutes=1)).status == Status.FAIL


def test_prs_reviewed_draft_prs_do_not_wait(repo, pruning):
    PullRequestFactory(created_at=days_ago(40), labels=PRUNING, draft=True)
    assert result(pruning, "prs-reviewed").status == Status.PASS


def test_prs_reviewed_is_na_for_research_unless_it_accepts_prs(repo, clustering):
    PullRequestFactory(created_at=days_ago(30), labels=CLUSTERING)
    assert result(clustering, "prs-reviewed").status == Status.NA
    clustering.accepts_prs = True
    clustering.save()
    assert result(clustering, "prs-reviewed").status == Status.FAIL


# --- unlabeled-triage ----------------------------------------------------------------
def test_unlabeled_triage(repo, pruning, clustering):
    assert result(pruning, "unlabeled-triage").status == Status.PASS
    IssueFactory(created_at=days_ago(7), title="Weight pruning question")
    assert result(pruning, "unlabeled-triage").status == Status.PASS  # exactly 7 days
    r = result(pruning, "unlabeled-triage", NOW + timedelta(hours=1))
    assert r.status == Status.FAIL and "technique:pruning" in r.summary
    assert result(clustering, "unlabeled-triage").status == Status.NA


def test_unlabeled_triage_without_data(pruning):
    assert result(pruning, "unlabeled-triage").status == Status.NA


# --- release-notes -------------------------------------------------------------------
def test_release_notes_pass_and_fail(repo, pruning):
    ReleaseFactory(tag="v0.8.0", published_at=days_ago(100))
    ReleaseFactory(tag="v0.8.1", published_at=days_ago(10), notes="Fixes for numpy 2.")
    assert result(pruning, "release-notes").status == Status.PASS  # nothing shipped
    PullRequestFactory(merged=True, created_at=days_ago(50), labels=PRUNING)
    r = result(pruning, "release-notes")
    assert r.status == Status.FAIL and "v0.8.1" in r.summary
    Release.objects.filter(tag="v0.8.1").update(notes="Pruning: a faster mask update.")
    assert result(pruning, "release-notes").status == Status.PASS


def test_release_notes_edge_pr_merged_with_the_previous_release(repo, pruning):
    ReleaseFactory(tag="v0.8.0", published_at=days_ago(100))
    ReleaseFactory(tag="v0.8.1", published_at=days_ago(10))
    # merged at the previous release's time: it shipped there
    PullRequestFactory(merged=True, created_at=days_ago(100), labels=PRUNING)
    assert result(pruning, "release-notes").status == Status.PASS


def test_release_notes_research_only_when_provided(repo, clustering):
    ReleaseFactory(tag="v0.8.0", published_at=days_ago(100))
    ReleaseFactory(tag="v0.8.1", published_at=days_ago(10))
    PullRequestFactory(merged=True, created_at=days_ago(50), labels=CLUSTERING)
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
    PullRequestFactory(
        merged=True,
        created_at=days_ago(10),
        labels=PRUNING,
        files=["tensorflow_model_optimization/python/core/sparsity/x.py"],
    )
    assert result(pruning, "api-review").status == Status.PASS  # no API change
    pr = PullRequestFactory(
        merged=True, created_at=days_ago(10), labels=PRUNING, files=[PRUNING_API]
    )
    CommentFactory(issue=pr, author="Alice", review=True, state="APPROVED")
    PullRequestFactory(
        merged=True,
        created_at=days_ago(10),
        labels=["technique:pruning", "api-review"],
        files=[PRUNING_API],
    )
    assert result(pruning, "api-review").status == Status.PASS
    bad = PullRequestFactory(
        merged=True, created_at=days_ago(10), labels=PRUNING, files=[PRUNING_API]
    )
    CommentFactory(issue=bad, author="bob", review=True, state="APPROVED")
    r = result(pruning, "api-review")
    assert r.status == Status.FAIL and r.evidence["pulls"] == [bad.number]


def test_api_review_window_edge(repo, pruning):
    PullRequestFactory(merged=True, created_at=days_ago(181), labels=PRUNING, files=[PRUNING_API])
    assert result(pruning, "api-review").status == Status.PASS


def test_api_review_is_na_for_research(repo, clustering):
    assert result(clustering, "api-review").status == Status.NA


# --- ci-green ------------------------------------------------------------------------
def test_ci_green(repo, pruning, clustering):
    assert result(pruning, "ci-green").status == Status.NA  # synced, but no run
    CIRunFactory(created_at=NOW - timedelta(hours=50), conclusion="success")
    CIRunFactory(created_at=NOW - timedelta(hours=24), conclusion="failure")
    CIRunFactory(created_at=NOW - timedelta(hours=2), conclusion="failure")
    # other branches do not count
    CIRunFactory(created_at=NOW - timedelta(hours=1), conclusion="success", branch="feature")
    r = result(pruning, "ci-green")
    assert r.status == Status.PASS  # red for exactly 24 hours: not more
    assert result(pruning, "ci-green", NOW + timedelta(minutes=1)).status == Status.FAIL
    assert result(clustering, "ci-green", NOW + timedelta(minutes=1)).status == Status.FAIL
    CIRunFactory(created_at=NOW, conclusion="success")
    assert result(pruning, "ci-green", NOW + timedelta(minutes=1)).status == Status.PASS


@pytest.mark.parametrize("silent", sorted(CIRun.SILENT_CONCLUSIONS))
@pytest.mark.parametrize("conclusion", sorted(CIRun.FAILED_CONCLUSIONS))
def test_ci_green_counts_every_failing_conclusion_and_passes_over_silent_runs(
    repo, pruning, conclusion, silent
):
    CIRunFactory(created_at=NOW - timedelta(hours=50), conclusion="success")
    CIRunFactory(created_at=NOW - timedelta(hours=30), conclusion=conclusion)
    CIRunFactory(created_at=NOW - timedelta(hours=2), conclusion=silent)
    r = result(pruning, "ci-green")
    assert r.status == Status.FAIL  # red for 30 hours; a cancelled or skipped run changes nothing


def test_ci_green_leaves_convergence_workflows_to_their_own_rules(repo, pruning):
    CIRunFactory(created_at=NOW - timedelta(hours=50), conclusion="success")
    CIRunFactory(
        created_at=NOW - timedelta(hours=40), conclusion="failure", workflow="Convergence tests"
    )
    assert result(pruning, "ci-green").status == Status.PASS


@pytest.mark.usefixtures("locmem_cache")
def test_ci_green_follows_the_runs_once_its_state_is_cached(repo, pruning):
    CIRunFactory(created_at=NOW - timedelta(hours=50), conclusion="success")
    assert result(pruning, "ci-green").status == Status.PASS  # the state is cached now
    with CaptureQueriesContext(connection) as queries:
        assert result(pruning, "ci-green").status == Status.PASS
    runs_read = [q["sql"] for q in queries if 'FROM "ci_status_cirun"' in q["sql"]]
    assert len(runs_read) == 1 and "COUNT(" in runs_read[0]  # their fingerprint, not the runs
    CIRunFactory(created_at=NOW - timedelta(hours=30), conclusion="failure")
    assert result(pruning, "ci-green").status == Status.FAIL  # a new run: a new fingerprint


def test_ci_green_without_data(pruning):
    assert result(pruning, "ci-green").status == Status.NA


# --- facts for the other rules -------------------------------------------------------
def test_repo_labels_and_maintainer_activity_facts(repo, pruning):
    from adherence.engine import load_facts

    LabelFactory(name="technique:pruning")
    facts = load_facts([pruning], NOW)
    assert facts["repo_labels"][pruning.pk] == {"technique:pruning"}
    assert set(facts["maintainer_activity"][pruning.pk]) == {"alice", "dave"}
    Repository.objects.update(last_synced_at=None)
    assert load_facts([pruning], NOW)["repo_labels"][pruning.pk] is None


# --- since: when the violation began -------------------------------------------------
def test_since_is_the_oldest_wait_plus_the_allowed_days(repo, pruning):
    old = IssueFactory(created_at=days_ago(30), labels=PRUNING)
    IssueFactory(created_at=days_ago(20), labels=PRUNING)
    r = result(pruning, "questions-answered")
    assert r.since == old.created_at + timedelta(days=14)
    pr = PullRequestFactory(created_at=days_ago(16), labels=PRUNING)
    assert result(pruning, "prs-reviewed").since == pr.created_at + timedelta(days=14)


def test_since_of_ci_release_and_api_changes(repo, pruning):
    CIRunFactory(created_at=NOW - timedelta(hours=50), conclusion="success")
    CIRunFactory(created_at=NOW - timedelta(hours=30), conclusion="failure")
    CIRunFactory(created_at=NOW - timedelta(hours=2), conclusion="failure")
    assert result(pruning, "ci-green").since == NOW - timedelta(hours=30) + timedelta(hours=24)
    ReleaseFactory(tag="v0.8.0", published_at=days_ago(100))
    shipped = ReleaseFactory(tag="v0.8.1", published_at=days_ago(10))
    PullRequestFactory(merged=True, created_at=days_ago(50), labels=PRUNING)
    assert result(pruning, "release-notes").since == shipped.published_at
    first = PullRequestFactory(
        merged=True, created_at=days_ago(20), labels=PRUNING, files=[PRUNING_API]
    )
    PullRequestFactory(merged=True, created_at=days_ago(5), labels=PRUNING, files=[PRUNING_API])
    assert result(pruning, "api-review").since == first.merged_at


def test_stored_figures_become_overdue_as_the_clock_moves(repo, pruning):
    """Stored once, judged at read time: no refresh is needed for an item to become late."""
    import time_machine

    IssueFactory(created_at=days_ago(10), labels=PRUNING)
    refreshed(NOW)
    with time_machine.travel(NOW, tick=False):
        assert (
            evaluate([pruning], rule_ids=["questions-answered"])[
                (pruning.pk, "questions-answered")
            ].status
            == Status.PASS
        )
    with time_machine.travel(NOW + timedelta(days=5), tick=False):
        late = evaluate([pruning], rule_ids=["questions-answered"])[
            (pruning.pk, "questions-answered")
        ]
        assert late.status == Status.FAIL
        assert late.since == NOW - timedelta(days=10) + timedelta(days=14)
