"""Security settings, headers and hostile input."""

import hashlib
import hmac
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.hashers import identify_hasher
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from ci_status.webhooks import signature_valid
from convergence.parsers import OUTCOMES, ResultsError, parse_json, parse_junit
from github import parse_link_header
from tests import processes

ROOT = Path(__file__).resolve().parents[2]


def manage(*args, **env):
    environment = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DJANGO_ENV", "SECRET_KEY", "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE")
    }
    environment.update(env)
    return processes.manage(*args, env=environment)


def test_production_refuses_the_fake_secret():
    result = manage("check", DJANGO_ENV="production")
    assert result.returncode != 0
    assert "needs SECRET_KEY set to a random value" in result.stderr


# Production runs on PostgreSQL and Redis (the settings refuse anything else).
SERVICES = {
    "DATABASE_URL": "postgres://portal@127.0.0.1:5432/portal",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
    "CACHE_URL": "redis://127.0.0.1:6379/1",
}


def test_production_refuses_to_start_without_postgresql_and_redis():
    result = manage(
        "check",
        DJANGO_ENV="production",
        SECRET_KEY="y" * 64,
        DATABASE_URL="sqlite:///portal.sqlite3",
        CELERY_BROKER_URL="",
        CACHE_URL="redis://127.0.0.1:6379/1",
    )
    assert result.returncode != 0
    assert (
        "DJANGO_ENV=production needs PostgreSQL and Redis: set DATABASE_URL (postgres://...), "
        "CELERY_BROKER_URL (redis://...)"
    ) in result.stderr


def test_production_settings_pass_check_deploy():
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        **SERVICES,
        DJANGO_ENV="production",
        SECRET_KEY="k" * 20 + "Zq8#" * 10 + "x" * 20,
        ALLOWED_HOSTS="portal.example.org",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_passwords_are_hashed_with_argon2(alice):
    alice.set_password("a long passphrase")
    assert identify_hasher(alice.password).algorithm == "argon2"


@pytest.mark.parametrize(
    "path", ["/", "/techniques/pruning/", "/owners/", "/pipeline/", "/accounts/login/"]
)
def test_pages_send_a_csp_and_carry_no_inline_script_or_style(client, pruning, path):
    response = client.get(path)
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    html = response.content.decode()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline <script>"
    assert not re.search(r"\sstyle=", html) and not re.search(r"\son[a-z]+=", html)
    assert response["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize(
    "path", ["/adherence/", "/ci/", "/reviews/", "/releases/", "/sync/", "/lifecycle/ownership/"]
)
def test_team_pages_carry_no_inline_script_either(carol_client, pruning, path):
    html = carol_client.get(path).content.decode()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert not re.search(r"\son[a-z]+=", html)


def test_sign_in_is_rate_limited(client, alice, settings):
    settings.AXES_ENABLED = True
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/accounts/login/", {"username": "alice", "password": "wrong"})
    locked = client.post("/accounts/login/", {"username": "alice", "password": "pw-for-tests-1"})
    assert locked.status_code == 429
    assert b"Too many failed sign-in attempts" in locked.content


def test_unknown_pages_and_objects_are_helpful_404s_not_500s(client, carol, pruning):
    # A visitor is sent to sign in before learning whether a gap exists.
    assert client.get("/adherence/gaps/999999/")["Location"].startswith("/accounts/login/")
    client.force_login(carol)
    for path in [
        "/techniques/nope/",
        "/adherence/gaps/999999/",
        "/badges/nope.svg",
        "/reviews/abc/",
    ]:
        response = client.get(path)
        assert response.status_code == 404, path
        assert "<title>Page not found" in response.content.decode(), path
    response = client.get("/api/techniques/nope/")
    assert response.status_code == 404
    assert response.json() == {"detail": "No Technique matches the given query."}


def test_uploads_beyond_the_size_limit_are_refused(client, pruning):
    from convergence.models import CIToken, ConvergenceRun
    from convergence.parsers import MAX_BYTES

    clear = CIToken.issue("ci")[1]
    body = b'{"runs": [' + b" " * (3 * 1024 * 1024) + b"]}"
    response = client.post(
        "/api/convergence/upload/",
        data=body,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {clear}",
    )
    assert response.status_code == 413
    assert response.json()["error"] == f"The body is {len(body)} bytes; the limit is {MAX_BYTES}."
    assert not ConvergenceRun.objects.exists()


@hypothesis_settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.binary(max_size=2000))
def test_result_parsers_accept_or_explain_any_bytes(data):
    for parser in (parse_json, parse_junit):
        try:
            records = parser(data)
        except ResultsError as error:
            assert str(error)  # any other exception fails the test
            continue
        # What a parser accepts is ready to store: named tests, known outcomes, numbers.
        for record in records:
            assert record.test and record.outcome in OUTCOMES
            assert all(math.isfinite(value) for value in record.metrics.values())


@hypothesis_settings(max_examples=200, deadline=None)
@given(st.text(max_size=500))
def test_link_header_parser_never_crashes(value):
    links = parse_link_header(value)
    assert all(url in value and rel in value for rel, url in links.items())


_URL = st.text(st.characters(blacklist_characters='<>,;"', min_codepoint=33), min_size=1)
_REL = st.sampled_from(["next", "last", "prev", "first"])


@hypothesis_settings(max_examples=200, deadline=None)
@given(st.dictionaries(_REL, _URL, min_size=1))
def test_link_header_parser_reads_back_what_github_writes(links):
    header = ", ".join(f'<{url}>; rel="{rel}"' for rel, url in links.items())
    assert parse_link_header(header) == links


@hypothesis_settings(max_examples=100, deadline=None)
@given(st.binary(max_size=500), st.text(max_size=80))
def test_webhook_signature_accepts_only_the_right_hmac(body, secret):
    good = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    assert signature_valid(secret, body, good) == bool(secret)
    assert not signature_valid(secret, body, good[:-1] + ("0" if good[-1] != "0" else "1"))
    assert not signature_valid(secret, body, None)


def test_bandit_finds_nothing_unjustified():
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "bandit"),
            "-q",
            "-r",
            "techniques",
            "ci_status",
            "convergence",
            "reviews",
            "adherence",
            "lifecycle",
            "ops",
            "github_integration",
            "tfmot_portal",
            "-ll",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout


def test_debug_is_off_and_cookies_secure_in_production():
    result = manage(
        "shell",
        "-c",
        "from django.conf import settings as s; print(s.DEBUG, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS)",
        **SERVICES,
        DJANGO_ENV="production",
        SECRET_KEY="y" * 64,
        ALLOWED_HOSTS="x",
    )
    assert result.stdout.strip().splitlines()[-1] == "False True True 31536000"


def test_secrets_come_from_the_environment_and_never_from_the_code():
    show = (
        "from django.conf import settings as s; "
        "print(s.SECRET_KEY, s.GITHUB_TOKEN or '-', s.GITHUB_WEBHOOK_SECRET or '-')"
    )
    given_env = manage(
        "shell",
        "-c",
        show,
        SECRET_KEY="s" * 60,
        GITHUB_TOKEN="ghp_from_env",
        GITHUB_WEBHOOK_SECRET="hook-from-env",
    )
    assert given_env.stdout.split()[-3:] == ["s" * 60, "ghp_from_env", "hook-from-env"]
    environment = {"GITHUB_TOKEN": "", "GITHUB_WEBHOOK_SECRET": ""}
    unset = manage("shell", "-c", show, **environment)
    # Without them: the clearly fake development key, and no GitHub credentials at all.
    assert unset.stdout.split()[-3:] == [settings.FAKE_SECRET_KEY, "-", "-"]


@pytest.mark.parametrize(
    "path", ["/me/", "/reviews/", "/audit/", "/adherence/matrix.csv", "/techniques/pruning/"]
)
def test_signed_in_pages_and_downloads_are_never_stored_by_a_cache(carol_client, pruning, path):
    response = carol_client.get(path)
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"


def test_public_pages_stay_cacheable_and_public_downloads_are_not_stored(client, pruning):
    assert "no-store" not in client.get("/techniques/pruning/").get("Cache-Control", "")
    owners = client.get("/owners/OWNERS.md")
    assert owners.status_code == 200 and owners["Cache-Control"] == "private, no-store"
