"""The sync, through the real client, against the project's GitHub-shaped server."""

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from ci_status import locks, services
from ci_status.models import CIRun, Comment, Issue, Label, Release, Repository, SyncRun
from fake_github import FakeGitHub
from github import GitHubClient, Unavailable
from techniques.models import Maintainer
from tests.factories import MaintainerFactory, OwnerGroupFactory, RepositoryFactory, SyncRunFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def repository(settings):
    settings.GITHUB_REPOSITORY = "tensorflow/model-optimization"
    return services.repository_get_or_create()


def sync(repository, client, **options):
    options.setdefault("evaluate", False)
    return services.repository_sync(repository, client=client, **options)


def test_full_sync_writes_everything_the_server_has(fake_github, github_client, repository):
    run = sync(repository, github_client)
    ds = fake_github.dataset
    assert run.status == SyncRun.Status.OK, run.error
    assert Issue.objects.count() == len(ds.issues)
    assert Issue.objects.filter(kind="pr").count() == sum(1 for i in ds.issues if i.kind == "pr")
    assert Label.objects.count() == len(ds.labels)
    assert Release.objects.count() == 20
    assert CIRun.objects.count() == len(ds.runs)
    assert Comment.objects.filter(kind="comment").count() == len(ds.comments)
    assert Comment.objects.filter(kind="review").exists()
    assert run.requests == github_client.stats.requests
    # REST and GraphQL have their own budgets (x-ratelimit-resource): core is REST's.
    assert run.rate_limit_remaining == 5000 - (run.requests - run.per_resource["pulls"]["requests"])
    assert run.rows_written > len(ds.issues)
    repository.refresh_from_db()
    assert repository.last_synced_at == run.finished_at
    # Issue fields as GitHub gave them.
    pr = Issue.objects.get(title__startswith="Draft: experiment")
    assert pr.kind == "pr" and pr.draft and pr.files


def test_resync_with_nothing_changed_is_only_304s(fake_github, github_client, repository):
    sync(repository, github_client)
    before = fake_github.remaining
    client = GitHubClient(repository.full_name, base_url=fake_github.url, token="")
    run = sync(repository, client)
    assert run.status == SyncRun.Status.OK
    assert run.requests == run.not_modified == 5  # labels, issues, comments, releases, runs
    assert run.rows_written == 0
    assert fake_github.remaining == before  # zero rate-limit cost


def test_resync_fetches_only_what_changed(fake_github, github_client, repository):
    sync(repository, github_client)
    ds = fake_github.dataset
    now = datetime.now(UTC)
    issue = ds.add_issue("A brand new question", "newcomer", now, labels=["technique:qat"])
    ds.add_comment(issue.number, "alice", now + timedelta(minutes=5), "Answer")
    ds.update_issue(1, now + timedelta(minutes=6), title="Renamed")
    fake_github.reset_counters()
    run = sync(repository, GitHubClient(repository.full_name, base_url=fake_github.url, token=""))
    assert run.status == SyncRun.Status.OK
    assert Issue.objects.get(number=1).title == "Renamed"
    new = Issue.objects.get(number=issue.number)
    assert new.first_response_by == "alice"
    # The changed items, plus the newest one again (since= is inclusive) in two rounds.
    assert run.per_resource["issues"]["rows"] <= 5
    issue_paths = [p for p in fake_github.paths if "/issues?" in p]
    assert all("since=" in p for p in issue_paths)


def test_rerun_never_duplicates(fake_github, repository):
    for _ in range(2):
        client = GitHubClient(repository.full_name, base_url=fake_github.url, token="")
        # Forget ETags and cursors: the whole repository comes again.
        repository.cursors.all().delete()
        sync(repository, client)
    assert Issue.objects.count() == len(fake_github.dataset.issues)
    assert CIRun.objects.count() == len(fake_github.dataset.runs)
    assert Comment.objects.filter(kind="comment").count() == len(fake_github.dataset.comments)


def test_failure_mid_sync_keeps_earlier_pages_and_says_what_failed(repository):
    from tests.test_github_client import small_dataset

    with FakeGitHub(small_dataset(250)) as server:
        server.add_fault("5xx", path="page=3", count=-1, status=502)
        client = GitHubClient(repository.full_name, base_url=server.url, token="", backoff=0.01)
        client.sleep = lambda s: None
        with pytest.raises(Unavailable):
            sync(repository, client)
        run = SyncRun.objects.get()
        # The other resources were synced: the run is partial, issues named as failed.
        assert run.status == SyncRun.Status.PARTIAL
        assert run.error.startswith("issues: GitHub answered 502")
        assert Issue.objects.count() == 200  # the two pages written before the failure
        # Fixed: the next sync completes, from the old cursor (nothing lost, no duplicate).
        server.clear_faults()
        run = sync(repository, GitHubClient(repository.full_name, base_url=server.url, token=""))
    assert run.status == SyncRun.Status.OK
    assert Issue.objects.count() == 250


@pytest.mark.parametrize(
    ("fault", "message", "status"),
    [
        ({"kind": "malformed", "path": "/issues"}, "not JSON", SyncRun.Status.PARTIAL),
        ({"kind": "status", "path": "/issues", "status": 404}, "Not found", SyncRun.Status.PARTIAL),
        (  # a refused token ends the whole sync: no other resource would be answered
            {"kind": "status", "path": "/labels", "status": 401, "message": "Bad credentials"},
            "expired",
            SyncRun.Status.FAILED,
        ),
    ],
)
def test_github_errors_end_the_sync_cleanly(
    fake_github, repository, fault, message, status, carol_client
):
    sync(repository, GitHubClient(repository.full_name, base_url=fake_github.url, token=""))
    issues = Issue.objects.count()
    repository.cursors.all().delete()
    fake_github.add_fault(count=-1, **fault)
    run = sync(repository, GitHubClient(repository.full_name, base_url=fake_github.url, token=""))
    assert run.status == status
    assert message in run.error
    assert Issue.objects.count() == issues  # earlier data kept
    page = carol_client.get("/sync/")
    assert page.status_code == 200
    assert message in page.content.decode()


def test_unknown_repository_records_not_found(fake_github, settings):
    repository = RepositoryFactory(full_name="tensorflow/does-not-exist", last_synced_at=None)
    run = sync(repository, GitHubClient(repository.full_name, base_url=fake_github.url, token=""))
    assert run.status == SyncRun.Status.FAILED
    assert "404" in run.error


def test_expired_token(repository):
    from tests.test_github_client import small_dataset

    with FakeGitHub(small_dataset(3), token="current") as server:
        client = GitHubClient(repository.full_name, base_url=server.url, token="expired")
        run = sync(repository, client)
    assert run.status == SyncRun.Status.FAILED
    assert "401" in run.error and "GITHUB_TOKEN" in run.error


def test_maintainer_activity_is_recorded(fake_github, github_client, repository):
    group = OwnerGroupFactory()
    alice = MaintainerFactory(group=group, github_login="Alice")
    ghost = MaintainerFactory(group=group, github_login="ghost")
    sync(repository, github_client)
    alice.refresh_from_db()
    ghost.refresh_from_db()
    latest_comment = max(c.created_at for c in fake_github.dataset.comments if c.author == "alice")
    assert alice.last_activity_at >= latest_comment
    assert ghost.last_activity_at is None


def test_one_sync_per_repository_at_a_time(repository, settings):
    settings.CELERY_BROKER_URL = "filesystem://"
    with services.sync_lock(repository), pytest.raises(services.SyncLocked):
        sync(
            repository,
            GitHubClient(repository.full_name, base_url="http://127.0.0.1:9", token=""),
        )
    # Released: the lock can be taken again.
    with services.sync_lock(repository):
        pass


def test_an_expired_row_lock_can_be_taken_over(repository, settings):
    settings.CELERY_BROKER_URL = "filesystem://"
    dead = locks.RowLock(repository, ttl=60)
    assert dead.acquire()
    Repository.objects.filter(pk=repository.pk).update(
        lock_until=datetime.now(UTC) - timedelta(seconds=1)
    )
    with services.sync_lock(repository):
        pass


@pytest.mark.redis
def test_redis_lock_when_the_broker_is_redis(repository, settings, redis_url):
    settings.CELERY_BROKER_URL = redis_url  # the run's own database
    held = services.sync_lock(repository, ttl=5)
    with held, pytest.raises(services.SyncLocked), services.sync_lock(repository, ttl=5):
        pass
    with services.sync_lock(repository, ttl=5):
        pass


def test_interrupted_runs_are_marked(fake_github, github_client, repository):
    stale = SyncRunFactory(repository=repository, status=SyncRun.Status.RUNNING)
    sync(repository, github_client)
    stale.refresh_from_db()
    assert stale.status == SyncRun.Status.INTERRUPTED


def test_sync_github_command(fake_github, repository):
    out = StringIO()
    call_command(
        "sync_github",
        "--repo",
        repository.full_name,
        "--api-url",
        fake_github.url,
        "--no-evaluate",
        stdout=out,
    )
    text = out.getvalue()
    assert "Succeeded" in text and "requests" in text
    assert "issues" in text
    assert Issue.objects.count() == len(fake_github.dataset.issues)


def test_sync_github_command_fails_readably(fake_github, repository):
    fake_github.add_fault("status", path="/labels", count=-1, status=404)
    with pytest.raises(CommandError, match="labels: Not found"):
        call_command(
            "sync_github", "--api-url", fake_github.url, "--no-evaluate", stdout=StringIO()
        )
    with pytest.raises(CommandError, match="owner/name"):
        call_command("sync_github", "--repo", "not a repo", stdout=StringIO())


def test_demo_loader_is_idempotent(settings, demo_github):
    from ci_status import demo
    from techniques import demo as registry_demo

    registry_demo.load()
    first = demo.load()
    counts = (Issue.objects.count(), Comment.objects.count(), CIRun.objects.count())
    second = demo.load()
    assert first["status"] == second["status"] == "ok"
    assert (Issue.objects.count(), Comment.objects.count(), CIRun.objects.count()) == counts
    assert Maintainer.objects.filter(last_activity_at__isnull=False).count() >= 4


def test_switching_github_starts_afresh_and_keeps_no_row_of_the_old_source(
    settings, demo_github, client, carol
):
    """A demo sync, then GITHUB_API_URL points at another GitHub-shaped server with other
    data: all of its items arrive, none of the demo's remain, and /sync/ says so."""
    from ci_status import demo
    from fake_github import FakeGitHub, bulk_dataset

    demo.load()
    repository = Repository.objects.get()
    demo_numbers = set(Issue.objects.values_list("number", flat=True))
    assert demo_numbers and repository.last_synced_at
    other = bulk_dataset(250)
    assert other.full_name == repository.full_name
    with FakeGitHub(other) as server:
        settings.GITHUB_API_URL = server.url
        run = services.repository_sync(repository, evaluate=False)
    assert run.status == "ok"
    expected = {r.number for r in other.issues}
    assert set(Issue.objects.values_list("number", flat=True)) == expected
    demo_titles = set(i.title for i in demo_github.dataset.issues)
    assert not Issue.objects.filter(title__in=demo_titles).exists()
    assert not Comment.objects.filter(author__in=["priya-ml", "jdoe42"]).exists()
    assert set(Label.objects.values_list("name", flat=True)) == {lb["name"] for lb in other.labels}
    assert run.progress["switched"]["from"] == demo_github.url
    client.force_login(carol)
    page = client.get("/sync/").content.decode()
    assert f"from <code>{demo_github.url}</code> to <code>{server.url}</code>" in page


def test_a_new_token_also_starts_afresh(settings, demo_github):
    from ci_status import demo

    demo.load()
    repository = Repository.objects.get()
    settings.GITHUB_TOKEN = "another-identity"
    run = services.repository_sync(repository, evaluate=False)
    assert run.progress["switched"]["token_changed"] is True
    assert run.not_modified == 0  # no ETag of the old identity was sent
    assert Issue.objects.count() == len(demo_github.dataset.issues)


NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def _sync_bulk(server, repository):
    client = GitHubClient(repository.full_name, base_url=server.url, token="", backoff=0.01)
    return services.repository_sync(repository, client=client, evaluate=False)


def test_first_sync_fetches_pr_details_100_prs_per_request_and_then_only_changes(repository):
    from fake_github import bulk_dataset

    dataset = bulk_dataset(1200, open_prs=100)
    old_pr = 3  # closed years ago: its review still counts for first responses
    dataset.add_review(old_pr, "alice", "APPROVED", dataset.issue(old_pr).created_at)
    with FakeGitHub(dataset) as server:
        run = _sync_bulk(server, repository)
        graphql = [p for p in server.paths if p.endswith("/graphql")]
        assert run.status == "ok" and len(graphql) == 4  # 400 PRs, 100 per request
        assert run.requests <= 12 + 1 + 4 + 6  # issue pages, their ETag, PR details, rest
        assert Comment.objects.filter(kind="review", issue_number=old_pr).exists()
        assert Issue.objects.get(number=old_pr).first_response_by == "alice"

        server.paths.clear()
        resync = _sync_bulk(server, repository)
        assert resync.requests == resync.not_modified  # only 304s
        assert not [p for p in server.paths if p.endswith("/graphql")]

        changed = 1197  # an open PR (every third number is a PR)
        dataset.add_review(changed, "dave", "COMMENTED", NOW)
        dataset.update_issue(changed, NOW)
        server.paths.clear()
        _sync_bulk(server, repository)
        assert len([p for p in server.paths if p.endswith("/graphql")]) == 1


@pytest.mark.parametrize(
    ("fault", "status"),
    [
        ({"kind": "5xx", "path": "/graphql", "count": 2}, "ok"),  # retried
        ({"kind": "malformed", "path": "/graphql"}, "partial"),  # the rest is synced
    ],
)
def test_graphql_failures(repository, fault, status):
    from fake_github import bulk_dataset

    with FakeGitHub(bulk_dataset(300, open_prs=10)) as server:
        server.add_fault(**fault)
        run = _sync_bulk(server, repository)
    assert run.status == status
    if status == "partial":
        assert run.error.startswith("pulls:")


def test_graphql_rate_limit_ends_the_sync_for_a_retry_after_the_reset(
    repository, github_client, fake_github
):
    from github import RateLimited

    fake_github.add_fault("rate_limit", path="/graphql")
    with pytest.raises(RateLimited):  # the Celery task retries after the reset
        services.repository_sync(repository, client=github_client, evaluate=False)
    run = SyncRun.objects.get()
    assert run.status == "partial" and run.error.startswith("pulls:")
    assert Issue.objects.exists()  # what was written stays
    assert Release.objects.exists()  # and the REST resources after it went on
