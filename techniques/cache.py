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
Keys also hold the code version (``CODE_VERSION``), so a deploy starts with no page
cached by the code before it.
"""

from __future__ import annotations

import functools
import hashlib

from django.apps import apps
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import F
from django.db.models.signals import post_delete, post_save

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


def data_version(request=None) -> int:
    """The current version; read once per request when the request is given."""
    if request is not None and hasattr(request, "_data_version"):
        return request._data_version
    DataVersion = apps.get_model("techniques", "DataVersion")
    value = DataVersion.objects.filter(pk=1).values_list("value", flat=True).first() or 0
    if request is not None:
        request._data_version = value
    return value


def cached(key: str, request, compute, timeout: int = TIMEOUT_SECONDS):
    """``compute()`` cached under ``key`` for the current data version."""
    full_key = f"{key}:{CODE_VERSION}:{data_version(request)}"
    value = cache.get(full_key)
    if value is None:
        value = compute()
        cache.set(full_key, value, timeout)
    return value


def bump_data_version() -> None:
    """Make every cached public page stale (after the current transaction commits)."""
    DataVersion = apps.get_model("techniques", "DataVersion")

    def bump():
        if not DataVersion.objects.filter(pk=1).update(value=F("value") + 1):
            DataVersion.objects.get_or_create(pk=1, defaults={"value": 2})

    transaction.on_commit(bump)


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
        bump_data_version()


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


def public_page(view):
    """Cache a public view's response for anonymous visitors, keyed on the data version."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if not _cacheable(request):
            return view(request, *args, **kwargs)
        key = f"page:{CODE_VERSION}:{data_version(request)}:{_digest(request)}"
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
