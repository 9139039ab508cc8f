"""Every route x role x method has an expected outcome; a new route without one fails.

Roles: anonymous, "other" (bob: owns Arm ML Tooling's techniques), "owner" (alice: owns
the TF MOT techniques the sample objects belong to), "staff" (carol). A role is *denied*
when the answer is 401, 403, 404, 405 or a redirect to the sign-in page; otherwise it was
let in (any answer below 500). Nobody ever gets a 5xx.
"""

import pytest
from django.core.management import call_command
from django.urls import URLPattern, URLResolver, get_resolver

from tests.factories import MaintainerFactory

ROLES = ("anonymous", "other", "owner", "staff")
OTHER_METHODS = {"login": {"put"}, "account_login": {"put"}}
# Objects addressed by slug where the technique's slug is not the one to use.
SLUGS = {
    "ownergroup-detail": "tf-mot",
    "techniques:group": "tf-mot",
    "lifecycle:help": "tensor-encoding",
}
ALL, USERS, OWNER, STAFF, NONE = (
    set(ROLES),
    {"other", "owner", "staff"},
    {"owner", "staff"},
    {"staff"},
    set(),
)
OWNER_ONLY = {"owner"}

# name: (who may GET, who may POST). PUT, PATCH and DELETE are denied to everyone, except
# Django's LoginView, which treats PUT as a sign-in attempt (OTHER_METHODS).
EXPECTED = {
    "healthz": (ALL, NONE),
    "login": (ALL, ALL),
    "logout": (NONE, ALL),
    "api-schema": (ALL, NONE),
    "api-docs": (ALL, NONE),
    "api-root": (ALL, NONE),
    "convergence-upload": (NONE, NONE),  # CI tokens only, never a session
    "technique-list": (ALL, NONE),
    "technique-detail": (ALL, NONE),
    "ownergroup-list": (ALL, NONE),
    "ownergroup-detail": (ALL, NONE),
    "maintainer-list": (ALL, NONE),
    "maintainer-detail": (ALL, NONE),
    "gap-list": (ALL, NONE),
    "gap-detail": (ALL, NONE),
    "ruleresult-list": (ALL, NONE),
    "ruleresult-detail": (ALL, NONE),
    "convergencetest-list": (ALL, NONE),
    "convergencetest-detail": (ALL, NONE),
    "convergencerun-list": (ALL, NONE),
    "convergencerun-detail": (ALL, NONE),
    "changepoint-list": (ALL, NONE),
    "review-list": (ALL, NONE),
    "review-detail": (ALL, NONE),  # an accepted review: public parts
    "item-list": (ALL, NONE),
    "ci_status:sync": (STAFF, NONE),
    "ci_status:sync_now": (NONE, STAFF),
    "ci_status:sync_run_json": (STAFF, NONE),
    "ci_status:triage": (STAFF, NONE),
    "ci_status:webhook": (NONE, NONE),  # signature only
    "adherence:dashboard": (USERS, NONE),
    "adherence:trend": (USERS, NONE),
    "adherence:feed": (ALL, NONE),
    "adherence:gap": (USERS, NONE),
    "adherence:acknowledge": (NONE, OWNER),
    "adherence:waive": (NONE, STAFF),
    "adherence:remediation": (NONE, STAFF),
    "adherence:waiver_request": (NONE, OWNER_ONLY),
    "adherence:waiver_requests": (STAFF, NONE),
    "adherence:waiver_decide": (NONE, STAFF),
    "adherence:campaigns": (USERS, NONE),
    "adherence:campaign_new": (NONE, STAFF),
    "adherence:campaign": (USERS, NONE),
    "adherence:rule": (ALL, NONE),
    "adherence:badge": (ALL, NONE),
    "adherence:health": (ALL, NONE),
    "convergence:grid": (ALL, NONE),
    "convergence:run": (ALL, NONE),  # a public run; an internal one: see test_ci_grid_and_release
    "convergence:culprit_refresh": (NONE, OWNER),
    "convergence:releases": (ALL, NONE),
    "convergence:bisections": (ALL, NONE),
    "convergence:bisection": (ALL, NONE),
    "convergence:bisection_revert": (NONE, STAFF),  # the TFMOT team opens reverts
    "bisection-list": (ALL, NONE),
    "bisection-detail": (ALL, NONE),
    "convergence:readiness_json": (ALL, NONE),
    "reviews:queue": (USERS, NONE),
    "reviews:preview": (NONE, USERS),
    "reviews:detail": (OWNER, NONE),
    "reviews:edit": (OWNER_ONLY, OWNER_ONLY),
    "reviews:autosave": (NONE, OWNER_ONLY),
    "reviews:review_preview": (OWNER_ONLY, NONE),
    "reviews:submit": (NONE, OWNER_ONLY),
    "reviews:decide": (NONE, STAFF),
    "reviews:shepherd": (NONE, STAFF),
    "lifecycle:ownership": (STAFF, NONE),
    "lifecycle:ownership_check": (NONE, STAFF),
    "lifecycle:step": (NONE, OWNER),
    "lifecycle:moderate": (NONE, STAFF),
    "lifecycle:tos_decide": (NONE, STAFF),
    "lifecycle:tos_requests": (STAFF, NONE),
    "lifecycle:technique": (OWNER, NONE),
    "lifecycle:launch": (NONE, STAFF),
    "lifecycle:deprecate": (NONE, STAFF),
    "lifecycle:help": (NONE, USERS),
    "lifecycle:tos_request": (NONE, OWNER),
    "techniques:home": (ALL, NONE),
    "techniques:detail": (ALL, NONE),
    "techniques:docstring": (ALL, NONE),
    "techniques:owners": (ALL, NONE),
    "lifecycle:pipeline": (ALL, NONE),
    "techniques:owners_md": (ALL, NONE),
    "techniques:codeowners": (ALL, NONE),
    "techniques:mine": (ALL, NONE),  # a redirect to the landing page
    "techniques:landing": (USERS, NONE),
    "techniques:groups": (ALL, NONE),
    "techniques:group": (ALL, NONE),
    "techniques:search": (ALL, NONE),
    "techniques:audit": (STAFF, NONE),
    "ops:readyz": (ALL, NONE),  # 503 here: no worker or beat runs in this test
    "ops:metrics": (NONE, NONE),  # METRICS_TOKEN or METRICS_ALLOWED_IPS only
    "ops:adherence_csv": (USERS, NONE),
    "ops:review_answers_csv": (STAFF, NONE),
    # Sign in with GitHub: 404 while it is not configured (as in this test).
    "github_login": (NONE, NONE),
    "github_callback": (NONE, NONE),
    "socialaccount_login_cancelled": (ALL, NONE),
    "socialaccount_login_error": (NONE, NONE),  # allauth answers 401
    "socialaccount_signup": (NONE, NONE),  # only in a GitHub sign-in; else to sign-in
    "socialaccount_connections": (USERS, USERS),
    "account_login": (ALL, ALL),  # the sign-in page under allauth's name
    "github_integration:me": (USERS, NONE),
    "github_integration:bootstrap": (STAFF, NONE),
    "github_integration:bootstrap_decide": (NONE, STAFF),
}
# Routes whose 503 is their answer (a readiness probe reporting what is down).
MAY_ANSWER_503 = {"ops:readyz"}


def routes():
    def walk(patterns, prefix="", namespace=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                if pattern.namespace == "admin":
                    continue  # Django's admin: staff only, tested by Django
                ns = namespace + (f"{pattern.namespace}:" if pattern.namespace else "")
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern), ns)
            elif isinstance(pattern, URLPattern):
                route = prefix + str(pattern.pattern)
                if "format" in route:
                    continue  # DRF's .json suffix twins of the same views
                yield namespace + (pattern.name or "?"), route

    return dict(walk(get_resolver().url_patterns))


def test_every_route_has_an_expected_outcome():
    missing = sorted(set(routes()) - set(EXPECTED))
    assert not missing, f"Add these routes to EXPECTED in {__file__}: {missing}"


def _objects():
    from adherence.models import Campaign, Gap, WaiverRequest
    from ci_status.models import SyncRun
    from convergence.models import Bisection, ConvergenceRun, ConvergenceTest
    from lifecycle.models import ContributionStep, OwnerInterest, TOSChangeRequest
    from reviews.models import Review
    from techniques.models import Maintainer

    return {
        "slug": "pruning",
        "adherence:gap": Gap.objects.filter(technique__slug="pruning").first().pk,
        "adherence:acknowledge": Gap.objects.filter(technique__slug="pruning", state="open")
        .first()
        .pk,
        "adherence:waive": Gap.objects.filter(technique__slug="pruning").first().pk,
        "adherence:remediation": Gap.objects.filter(technique__slug="pruning").first().pk,
        "adherence:waiver_request": Gap.objects.filter(technique__slug="pruning", state="open")
        .first()
        .pk,
        "adherence:waiver_decide": WaiverRequest.objects.first().pk,
        "adherence:campaign": Campaign.objects.first().pk,
        "gap-detail": Gap.objects.first().pk,
        "ruleresult-detail": __import__("adherence.models", fromlist=["RuleResult"])
        .RuleResult.objects.first()
        .pk,
        "maintainer-detail": Maintainer.objects.first().pk,
        "convergencetest-detail": ConvergenceTest.objects.first().pk,
        "convergencerun-detail": ConvergenceRun.objects.filter(internal=False).first().pk,
        "convergence:run": ConvergenceRun.objects.filter(internal=False).first().pk,
        "bisection-detail": Bisection.objects.first().pk,
        "convergence:bisection": Bisection.objects.first().pk,
        "convergence:bisection_revert": Bisection.objects.first().pk,
        "convergence:culprit_refresh": ConvergenceTest.objects.filter(technique__slug="pruning")
        .first()
        .pk,
        "review-detail": Review.objects.filter(status="accepted").first().pk,
        "reviews": Review.objects.filter(technique__slug="pruning", status="draft").first().pk,
        "ci_status:sync_run_json": SyncRun.objects.first().pk,
        "lifecycle:step": ContributionStep.objects.filter(technique__slug="weight-sharing-llm")
        .first()
        .pk,
        "lifecycle:moderate": OwnerInterest.objects.first().pk,
        "lifecycle:tos_decide": TOSChangeRequest.objects.first().pk,
        "ops:review_answers_csv": Review.objects.first().cycle_id,
    }


def _url(route: str, name: str, objects: dict) -> str:
    import re

    url = "/" + route.replace("^", "").replace("$", "")
    pk = objects.get(name) or (objects["reviews"] if name.startswith("reviews:") else None)
    url = re.sub(r"<slug:slug>|\(\?P<slug>[^)]*\)", SLUGS.get(name, objects["slug"]), url)
    url = re.sub(r"<int:pk>|\(\?P<pk>[^)]*\)", str(pk), url)
    url = url.replace("<slug:rule_id>", "owner-group")
    return url


def _denied(response) -> bool:
    if response.status_code in (401, 403, 404, 405):
        return True
    return response.status_code == 302 and "/accounts/login/" in response.get("Location", "")


@pytest.mark.slow
def test_permission_matrix(client, transactional_db, settings, demo_github, broker):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    call_command("load_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    from django.contrib.auth import get_user_model

    users = {u.username: u for u in get_user_model().objects.all()}
    logins = {"other": users["bob"], "owner": users["alice"], "staff": users["carol"]}
    # lifecycle steps belong to the demo proposal: make alice one of its owners too.
    from techniques.models import Maintainer, Technique

    # Rights follow the GitHub id: the new row is alice's by the id the team sync recorded.
    alice_id = Maintainer.objects.filter(github_login="alice").exclude(github_id=None)[0].github_id
    MaintainerFactory(
        group=Technique.objects.get(slug="weight-sharing-llm").owner_group,
        github_login="alice",
        github_id=alice_id,
    )
    from convergence.models import ConvergenceTest
    from tests.factories import BisectionFactory

    # A public bisection of a pruning test (the demo's come from the worker, not the loader).
    BisectionFactory(test=ConvergenceTest.objects.filter(technique__slug="pruning").first())
    objects = _objects()
    broker("memory://")
    problems = []
    for name, route in sorted(routes().items()):
        may_get, may_post = EXPECTED[name]
        url = _url(route, name, objects)
        for role in ROLES:
            client.logout()
            if role in logins:
                client.force_login(logins[role])
            others = {
                m: (ALL if m in OTHER_METHODS.get(name, ()) else NONE)
                for m in ("put", "patch", "delete")
            }
            for method, allowed in (("get", may_get), ("post", may_post), *others.items()):
                response = getattr(client, method)(url)
                if response.status_code == 503 and name in MAY_ANSWER_503:
                    response.status_code = 200  # let in: the probe answered
                if response.status_code >= 500:
                    problems.append(f"{method.upper()} {url} as {role}: {response.status_code}")
                elif _denied(response) == (role in allowed):
                    problems.append(
                        f"{method.upper()} {url} as {role}: {response.status_code} "
                        f"({'denied' if _denied(response) else 'let in'}, expected {'let in' if role in allowed else 'denied'})"
                    )
    assert not problems, "\n".join(problems)
