"""The sign-in lockout behind ``make serve``'s proxy, through gunicorn: failures count
against the address the trusted proxy forwarded, so a stranger's wrong passwords lock
the stranger's address out and not the user signing in from elsewhere."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from django.db import connection
from django.test import RequestFactory

from tests.factories import UserFactory
from tests.processes import free_port, manage, wait_for
from tfmot_portal.client_address import forwarded_client_address

ROOT = Path(__file__).resolve().parents[2]


def _database_url() -> str:
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.fixture
def gunicorn(transactional_db, redis_url, tmp_path):
    """The portal in production mode under gunicorn, on the test database, behind a
    proxy at 127.0.0.1 (FORWARDED_ALLOW_IPS)."""
    if connection.vendor != "postgresql":
        pytest.skip("needs the PostgreSQL test database (run `make test`)")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST"))}
    env.update(
        DJANGO_ENV="production",
        SECRET_KEY=secrets.token_urlsafe(64),
        DATABASE_URL=_database_url(),
        CELERY_BROKER_URL=redis_url,
        CACHE_URL=redis_url,
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="false",
        HOST="127.0.0.1",
        PORT=str(free_port()),
        WEB_CONCURRENCY="1",
        FORWARDED_ALLOW_IPS="127.0.0.1",
        LOGIN_FAILURE_LIMIT="3",
        STATIC_ROOT=str(tmp_path / "static"),
    )
    # The manifest gunicorn needs, without the compressed copies this test never reads.
    collect_env = {**env, "DJANGO_SETTINGS_MODULE": "tests.ops.settings_uncompressed_static"}
    collected = manage("collectstatic", "--noinput", "-v", "0", env=collect_env)
    assert collected.returncode == 0, collected.stderr
    log = tmp_path / "web.log"
    gunicorn = Path(sys.executable).with_name("gunicorn")
    process = subprocess.Popen(
        [str(gunicorn), "--config", "deploy/gunicorn.conf.py", "tfmot_portal.wsgi:application"],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{env['PORT']}"

    def answers():
        try:
            return requests.get(base + "/healthz", timeout=5).status_code == 200
        except requests.ConnectionError:
            return False

    try:
        wait_for(answers, 60, f"gunicorn on {base}", log)
        yield base
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(30)


def _sign_in(base: str, username: str, password: str, client: str) -> int:
    """A sign-in POST as the proxy forwards it for ``client``; the answer's status."""
    page = requests.get(base + "/accounts/login/", timeout=10)
    token = page.cookies["csrftoken"]  # a Secure cookie: sent by hand over plain HTTP
    answer = requests.post(
        base + "/accounts/login/",
        data={"username": username, "password": password, "csrfmiddlewaretoken": token},
        headers={"Cookie": f"csrftoken={token}", "X-Forwarded-For": client},
        allow_redirects=False,
        timeout=10,
    )
    return answer.status_code


@pytest.mark.slow
def test_a_strangers_failures_behind_the_proxy_do_not_lock_frank_out(gunicorn):
    UserFactory(username="frank")
    stranger, frank = "203.0.113.9", "198.51.100.7"
    assert [_sign_in(gunicorn, "frank", "wrong", stranger) for _ in range(3)][-1] == 429
    # frank, from his own address behind the same proxy, signs in.
    assert _sign_in(gunicorn, "frank", "pw-for-tests-1", frank) == 302
    # The stranger's address stays locked, even with the right password.
    assert _sign_in(gunicorn, "frank", "pw-for-tests-1", stranger) == 429
    # A client writing its own X-Forwarded-For gets no new address: the proxy's hop counts.
    assert _sign_in(gunicorn, "frank", "pw-for-tests-1", f"{frank}, {stranger}") == 429


@pytest.mark.parametrize(
    ("remote", "forwarded", "seen"),
    [
        ("127.0.0.1", "203.0.113.9", "203.0.113.9"),  # from the proxy: its hop
        ("127.0.0.1", "198.51.100.7, 203.0.113.9", "203.0.113.9"),  # a client's own hop ignored
        ("127.0.0.1", "203.0.113.9, 10.0.0.2", "203.0.113.9"),  # inner trusted proxy skipped
        ("127.0.0.1", "", "127.0.0.1"),  # nothing forwarded
        ("127.0.0.1", "not-an-address", "127.0.0.1"),
        ("192.0.2.50", "203.0.113.9", "192.0.2.50"),  # not from a proxy: headers ignored
    ],
)
def test_the_client_address_is_the_proxys_hop(remote, forwarded, seen):
    request = RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    assert forwarded_client_address(request, ["127.0.0.1", "10.0.0.0/8"]) == seen


def test_behind_the_proxy_metrics_allow_the_forwarded_address_not_the_proxys(client, settings, db):
    """Every client reaches gunicorn from the proxy's address: allowing 127.0.0.1 must not
    let them all read /metrics; the scraper's own forwarded address decides."""
    settings.PRODUCTION, settings.TRUSTED_PROXIES = True, ["127.0.0.1"]
    settings.METRICS_TOKEN, settings.METRICS_ALLOWED_IPS = "", ["127.0.0.1", "10.0.0.0/8"]
    stranger = client.get("/metrics", HTTP_X_FORWARDED_FOR="203.0.113.9")
    scraper = client.get("/metrics", HTTP_X_FORWARDED_FOR="10.1.2.3")
    assert (stranger.status_code, scraper.status_code) == (401, 200)
