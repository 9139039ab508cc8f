import json
import os
import shutil
import socketserver
import subprocess

import pytest
import redis

from techniques.models import Maintainer, TOSLevel
from tests.factories import (
    ConvergenceTestFactory,
    MaintainerFactory,
    OwnerGroupFactory,
    TechniqueFactory,
    UserFactory,
)
from tests.processes import free_port, wait_for
from tfmot_portal.celery import app as celery_app

# The test servers (pytest-django's live server, the GitHub-shaped server) answer HTTP/1.1
# with keep-alive in several writes; with Nagle's algorithm on, each answer to a client
# that reuses its connection (schemathesis, Chromium, GitHubClient's session) waits
# ~40 ms for the client's delayed ACK. Send at once, as gunicorn does.
socketserver.StreamRequestHandler.disable_nagle_algorithm = True


@pytest.fixture(autouse=True)
def _no_login_lockout(settings):
    # Login rate limiting has its own tests; elsewhere it would only couple tests.
    settings.AXES_ENABLED = False


@pytest.fixture(autouse=True)
def _no_page_cache(settings):
    # The public page cache is invalidated when a transaction commits, and most tests
    # never commit: they run without a cache. The locmem_cache fixture turns one on.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}


@pytest.fixture
def locmem_cache(settings):
    """A real cache in this process instead of the dummy one, empty before and after."""
    from django.core.cache import cache

    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    cache.clear()
    yield cache
    cache.clear()


@pytest.fixture
def alice(db):
    return UserFactory(username="alice")


@pytest.fixture
def bob(db):
    return UserFactory(username="bob")


@pytest.fixture
def carol(db):
    return UserFactory(username="carol", is_staff=True, is_superuser=True)


@pytest.fixture
def pruning(db):
    """A production technique owned by alice's group (alice*, dave)."""
    group = OwnerGroupFactory(name="TensorFlow Model Optimization", slug="tf-mot")
    MaintainerFactory(group=group, github_login="alice", is_direct_assignee=True)
    MaintainerFactory(group=group, github_login="dave")
    return TechniqueFactory(
        slug="pruning",
        name="Weight pruning",
        owner_group=group,
        public_api="tfmot.sparsity.keras",
        github_labels=["technique:pruning"],
    )


@pytest.fixture
def lonely(pruning):
    """pruning with one active maintainer (dave is emeritus): the two-maintainers rule fails."""
    pruning.owner_group.maintainers.filter(github_login="dave").update(
        status=Maintainer.Status.EMERITUS
    )
    return pruning


@pytest.fixture
def clustering(db):
    """A research technique owned by bob's group (bob*, erin)."""
    group = OwnerGroupFactory(name="Arm ML Tooling", slug="arm")
    MaintainerFactory(group=group, github_login="bob", is_direct_assignee=True)
    MaintainerFactory(group=group, github_login="erin")
    return TechniqueFactory(
        slug="clustering",
        name="Weight clustering",
        owner_group=group,
        tos_level=TOSLevel.RESEARCH,
        public_api="tfmot.clustering.keras",
        github_labels=["technique:clustering"],
    )


@pytest.fixture
def resnet(pruning):
    """Pruning's convergence test ``pruning/resnet50``."""
    return ConvergenceTestFactory(technique=pruning, name="resnet50")


@pytest.fixture
def query_counts(django_assert_max_num_queries):
    """``query_counts(grow, read, at_most, sizes=(2, 20))``: the number of queries ``read()``
    runs after each ``grow(size)``, each at most ``at_most``; a page that costs the same
    whatever the data gives equal counts."""

    def measure(grow, read, at_most: int, sizes=(2, 20)) -> list[int]:
        counts = []
        for size in sizes:
            grow(size)
            with django_assert_max_num_queries(at_most) as captured:
                read()
            counts.append(len(captured))
        return counts

    return measure


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


@pytest.fixture
def bob_client(client, bob):
    client.force_login(bob)
    return client


@pytest.fixture
def carol_client(client, carol):
    client.force_login(carol)
    return client


def _forget_connections():
    # The app keeps the pool of the broker it first used: forget it, so that the next
    # publish (in this test or a later one) takes the pool of the broker URL set now.
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def broker():
    """``broker(url)`` points the Celery app at a broker until the test ends."""
    previous = celery_app.conf.broker_url

    def use(url):
        celery_app.conf.broker_url = url
        _forget_connections()

    yield use
    celery_app.conf.broker_url = previous
    _forget_connections()


@pytest.fixture
def redis_url():
    """Redis for tests that need the real thing; under CI its absence is a failure."""
    url = os.environ.get("REDIS_URL")
    if not url:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("REDIS_URL is not set under CI=true")
        pytest.skip("Redis not available (set REDIS_URL or run `make test`)")
    return url


@pytest.fixture
def private_redis(tmp_path):
    """A Redis server of this test's own, on a free port, that the test may stop."""
    binary = shutil.which("redis-server")
    if not binary:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("redis-server is not installed")
        pytest.skip("redis-server is not installed")
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
    )
    client = redis.Redis(port=port)

    def answers():
        try:
            return client.ping()
        except redis.ConnectionError:
            return False

    wait_for(answers, 10, f"redis-server on port {port}")
    yield f"redis://127.0.0.1:{port}/0", process
    if process.poll() is None:
        process.terminate()
        process.wait(10)


WEBHOOK_SECRET = "webhook-test-secret"


@pytest.fixture
def github_webhook(client, settings):
    """Delivers a GitHub webhook as GitHub does: ``github_webhook(event, payload)`` posts
    the payload (a dict, or the body's bytes) signed with the portal's secret; ``secret``
    signs with another (None: unsigned), ``signature`` sends that header as it is."""
    from ci_status.webhooks import sign

    settings.GITHUB_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.GITHUB_REPOSITORY = "tensorflow/model-optimization"

    def deliver(event, payload, delivery="d-1", secret=WEBHOOK_SECRET, signature=None):
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        headers = {"HTTP_X_GITHUB_EVENT": event, "HTTP_X_GITHUB_DELIVERY": delivery}
        if signature is None and secret:
            signature = sign(secret, body)
        if signature:
            headers["HTTP_X_HUB_SIGNATURE_256"] = signature
        return client.post(
            "/webhooks/github/", data=body, content_type="application/json", **headers
        )

    return deliver


# --- the project's GitHub-shaped server and a client for it -------
@pytest.fixture
def fake_github():
    """The GitHub-shaped server with the demo dataset, on a free loopback port."""
    from fake_github import FakeGitHub, demo_dataset

    with FakeGitHub(demo_dataset()) as server:
        yield server


@pytest.fixture
def github_client(fake_github):
    """A real client for ``fake_github`` that never really sleeps (waits are recorded)."""
    from github import GitHubClient

    client = GitHubClient(
        fake_github.dataset.full_name,
        base_url=fake_github.url,
        token="",
        timeout=2,
        backoff=0.01,
        sleep=lambda seconds: client.slept.append(seconds),
    )
    client.slept = []
    return client


@pytest.fixture
def demo_github(settings):
    """The demo's GitHub as `make demo` serves it: the GitHub-shaped server with the demo
    dataset on loopback, configured as the portal's GITHUB_API_URL (no token)."""
    from fake_github import FakeGitHub, demo_dataset

    with FakeGitHub(demo_dataset()) as server:
        settings.GITHUB_API_URL = server.url
        settings.GITHUB_TOKEN = ""
        yield server
