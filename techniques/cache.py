"""Per-view cache of the public pages, invalidated by any change to the data behind them.

Anonymous GET requests of the public pages are served from the cache under a key that
includes the data version (``DataVersion``): one cheap query per request instead of the
page's queries and rendering. Every ORM save or delete in the portal's apps bumps the
version (signals below), except of bookkeeping that no page shows: a model with
``page_data = False`` (webhook delivery ids, heartbeats, sent-notification keys), and a
save of only a model's ``bookkeeping_fields`` (a sync's progress counters, saved every
half second). Code that writes with bulk operations or ``update()`` (the GitHub sync's
upserts, rule evaluation, run ingestion) calls ``bump_data_version()`` itself, never
counting on a neighbouring save. A signed-in user's read-only pages are cached per session and per rights
(``private_page``).
Pages of the registry alone (the home page, owners, groups, search, the registry API,
the badges, the navigation) key on a second counter, the registry version, which only
writes of the registry's models (techniques, groups, maintainers, their history, the
health stored on each technique) bump: a webhook, an upload or a rule evaluation that
changes no technique's health leaves them cached. The techniques app imports no other
app, so its pages cannot read what the other apps write; its technique page (panels of
every app) and landing page (sections of every app) key on the data version.
Keys also hold the code version (``CODE_VERSION``), so a deploy starts with no page
cached by the code before it.
"""

from __future__ import annotations

import functools
import hashlib
import threading

from django.apps import apps
from django.conf import settings
from django.core.cache import cache
from django.db.models import F
from django.db.models.signals import post_delete, post_save

from tfmot_portal.oncommit import waiting_on_commit

PROJECT_APPS = frozenset(settings.PORTAL_APPS)
TIMEOUT_SECONDS = 600
# What pages are made of, besides the data: a change to any of these files makes a new
# code version, so a deploy never serves a page cached by the code before it.
SOURCE_SUFFIXES = frozenset({".py", ".html", ".css", ".js", ".toml", ".svg"})
SOURCE_SKIP = frozenset({"migrations", "__pycache__", "management"})


def code_version() -> str:
    """``settings.RELEASE`` when set, else a digest of the project's source files (its
    apps, templates and static files); computed once per process."""
    if settings.RELEASE:
        return settings.RELEASE
    digest = hashlib.blake2b(digest_size=8)
    roots = [settings.BASE_DIR / name for name in ("tfmot_portal", "templates", "static")]
    roots += [settings.BASE_DIR / name for name in sorted(settings.PORTAL_APPS)]
    for root in roots:
        for path in sorted(root.rglob("*")):
            relative = path.relative_to(settings.BASE_DIR)
            if path.suffix in SOURCE_SUFFIXES and not SOURCE_SKIP & set(relative.parts):
                digest.update(str(relative).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()


CODE_VERSION = code_version()


# The counters (rows of DataVersion): every write of page data bumps the data version;
# writes of the registry's models bump the registry version too.
DATA, REGISTRY = 1, 2


def data_version(request=None, registry_only: bool = False) -> int:
    """The current data version (``registry_only``: the registry version); both are read
    in one query, once per request when the request is given."""
    versions = getattr(request, "_data_versions", None)
    if versions is None:
        DataVersion = apps.get_model("techniques", "DataVersion")
        versions = dict(
            DataVersion.objects.filter(pk__in=(DATA, REGISTRY)).values_list("pk", "value")
        )
        if request is not None:
            request._data_versions = versions
    return versions.get(REGISTRY if registry_only else DATA, 0)


def cached(key: str, request, compute, timeout: int = TIMEOUT_SECONDS, registry_only: bool = False):
    """``compute()`` cached under ``key`` for the current data version (the registry
    version when it reads only the registry)."""
    full_key = f"{key}:{CODE_VERSION}:{data_version(request, registry_only)}"
    value = cache.get(full_key)
    if value is None:
        value = compute()
        cache.set(full_key, value, timeout)
    return value


def _bump_now(registry: bool) -> None:
    DataVersion = apps.get_model("techniques", "DataVersion")
    counters = (DATA, REGISTRY) if registry else (DATA,)
    if DataVersion.objects.filter(pk__in=counters).update(value=F("value") + 1) < len(counters):
        for pk in counters:
            DataVersion.objects.get_or_create(pk=pk, defaults={"value": 2})


class _Bump:
    """What one transaction bumps, in one UPDATE when it commits, however many of its
    writes asked (a webhook's upserts, figures and saves ask several times)."""

    def __init__(self) -> None:
        self.registry = False

    def __call__(self) -> None:
        if getattr(_pending, "bump", None) is self:
            _pending.bump = None
        _bump_now(self.registry)


_pending = threading.local()


def bump_data_version(registry: bool = True) -> None:
    """Make the cached pages stale (after the current transaction commits): every page,
    or with ``registry=False`` (a write that changed no registry row) every page but
    those of the registry alone."""
    pending = waiting_on_commit(_pending, "bump", _Bump)
    if pending is None:
        _bump_now(registry)
        return
    pending.registry = pending.registry or registry


def changes_pages(model, update_fields=None) -> bool:
    """Whether saving (or deleting) a row of ``model`` can change a page: a model of the
    portal's apps, not bookkeeping (``page_data = False``), and not a save of only its
    ``bookkeeping_fields``."""
    if model._meta.app_label not in PROJECT_APPS or not getattr(model, "page_data", True):
        return False
    bookkeeping: frozenset[str] = getattr(model, "bookkeeping_fields", frozenset())
    return not (update_fields and frozenset(update_fields) <= bookkeeping)


def _on_change(sender, update_fields=None, **kwargs):
    if changes_pages(sender, update_fields):
        bump_data_version(registry=sender._meta.app_label == "techniques")


post_save.connect(_on_change, dispatch_uid="techniques.cache.save")
post_delete.connect(_on_change, dispatch_uid="techniques.cache.delete")


# Request headers a cached response may vary on: they are part of the key. A response
# that varies on anything else (its Vary header) is not cached.
KEYED_HEADERS = ("Accept",)


def _digest(request) -> str:
    """What the response depends on besides the data version: scheme, host (absolute
    links, pagination), the full path and the keyed headers (DRF picks JSON or HTML from
    Accept). Hashed: fixed-size keys whatever fuzzers send."""
    parts = [request.scheme, request.get_host(), request.get_full_path()]
    parts += [request.headers.get(name, "") for name in KEYED_HEADERS]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _varies_only_on_keyed_headers(response) -> bool:
    varies = {h.strip().lower() for h in response.get("Vary", "").split(",") if h.strip()}
    return varies <= {name.lower() for name in KEYED_HEADERS}


def _cacheable(request) -> bool:
    # No session cookie: no messages, no sign-in state, nothing personal on the page.
    return (
        request.method == "GET"
        and not request.user.is_authenticated
        and "sessionid" not in request.COOKIES
    )


def _cached_response(key: str, view, request, *args, **kwargs):
    """The cached response under ``key``, or the view's, cached when it is a plain 200."""
    response = cache.get(key)
    if response is None:
        response = view(request, *args, **kwargs)
        if (
            response.status_code == 200
            and not response.streaming
            and _varies_only_on_keyed_headers(response)
        ):
            if hasattr(response, "render"):
                response.render()  # DRF and template responses render lazily
            cache.set(key, response, TIMEOUT_SECONDS)
    return response


def public_page(view=None, *, registry_only: bool = False):
    """Cache a public view's response for anonymous visitors, keyed on the data version;
    ``@public_page(registry_only=True)`` for a page that shows only registry rows (keyed
    on the registry version: writes elsewhere leave it cached)."""
    if view is None:
        return functools.partial(public_page, registry_only=registry_only)

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if not _cacheable(request):
            return view(request, *args, **kwargs)
        version = data_version(request, registry_only)
        scope = "registry" if registry_only else "data"
        key = f"page:{CODE_VERSION}:{scope}:{version}:{_digest(request)}"
        return _cached_response(key, view, request, *args, **kwargs)

    return wrapper


def rights_fingerprint(request) -> str:
    """A digest of what decides what ``request.user`` may see: staff, superuser and active
    flags, groups and permissions, linked sign-in accounts and maintainer rows (with
    their status). Part of every per-user cache key, so a page cached before a loss of
    rights is never served after it (those records are not all the portal's own, so
    their changes do not bump the data version). One query."""
    from allauth.socialaccount.models import SocialAccount
    from django.contrib.auth.models import Group, Permission
    from django.db.models import CharField, Value
    from django.db.models.functions import Cast, Concat

    user = request.user
    Maintainer = apps.get_model("techniques", "Maintainer")
    text = CharField()
    # Each part unordered: SQLite refuses ORDER BY inside a compound statement (and
    # Permission has a default ordering); the parts are sorted below.
    rows = (
        Group.objects.filter(user=user)
        .order_by()
        .values_list(Value("group", output_field=text), Cast("pk", text))
        .union(
            Permission.objects.filter(user=user)
            .order_by()
            .values_list(Value("permission", output_field=text), Cast("pk", text)),
            SocialAccount.objects.filter(user=user).order_by().values_list("provider", "uid"),
            Maintainer.objects.for_user(user)
            .order_by()
            .values_list(
                Value("maintainer", output_field=text),
                Concat(Cast("pk", text), Value(":"), "status", output_field=text),
            ),
            all=True,
        )
    )
    parts = [f"{user.pk}:{user.is_active}:{user.is_staff}:{user.is_superuser}"]
    parts += sorted(f"{kind}={value}" for kind, value in rows)
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]


def private_page(view):
    """Cache a signed-in user's read-only page, keyed on their session, their rights
    (:func:`rights_fingerprint`) and the data version: a second look costs two queries
    until anything changes. Pages with pending
    messages are never cached or served from the cache (the messages must show)."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        session = getattr(request, "session", None)
        if (
            request.method != "GET"
            or not request.user.is_authenticated
            or session is None
            or not session.session_key
            or "messages" in request.COOKIES
            or "_messages" in session
        ):
            return view(request, *args, **kwargs)
        key = (
            f"private:{session.session_key}:{rights_fingerprint(request)}:{CODE_VERSION}:"
            f"{data_version(request)}:{_digest(request)}"
        )
        return _cached_response(key, view, request, *args, **kwargs)

    return wrapper
