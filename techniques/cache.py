"""Per-view cache of the pages, invalidated by the writes that change what they show.

Anonymous GET requests of the public pages are served from the cache under a key that
includes the counters (``DataVersion`` rows) of what the page reads: one cheap query per
request instead of the page's queries and rendering. Every write of page data bumps,
when its transaction commits, in one statement:

- ``data``, which pages that declare nothing key on (the landing page, for one);
- ``registry`` for the registry's rows (techniques, groups, maintainers, their history,
  the health stored on each technique): the home page, owners, groups, search, the
  registry API, the badges and the navigation key on it alone;
- its app's counter (``app:<label>``; ``app:*`` when the writer does not say): a page
  that reads some apps' rows (``reads=``: the CI grid reads convergence, the matrix
  adherence) keys on those, so a GitHub comment leaves the CI grid cached;
- the counters of the techniques whose own pages it changes (``technique:<id>``;
  ``technique:*`` when the writer does not say): the technique page keys on its own
  technique's, so a delivery about one technique renews that technique's page only.

ORM saves and deletes in the portal's apps bump through signals (below): their app, and
any technique unless the model says no technique page reads it (``technique_pages =
False``: GitHub items, runs, the sync's records). Bookkeeping no page shows bumps nothing:
a model with ``page_data = False`` (webhook delivery ids, heartbeats, sent-notification
keys), and a save of only a model's ``bookkeeping_fields`` (a sync's progress counters).
Code that writes with bulk operations or ``update()`` calls ``bump_data_version()`` with
what it changed, never counting on a neighbouring save; called with no argument it makes
every page stale.

A stale public page is renewed by one request while the others get the copy from just
before (stale-while-revalidate): a write costs one computation of each page it changed,
not one per visitor. A signed-in user's read-only pages are cached per session and per
rights (``private_page``) and never served stale. Keys also hold the code version
(``CODE_VERSION``), so a deploy starts with no page cached by the code before it.
"""

from __future__ import annotations

import functools
import hashlib
import threading
from collections.abc import Callable, Iterable

from django.apps import apps
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import CharField, Q, Value
from django.db.models.functions import Cast, Concat
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


# The counters (rows of DataVersion, by name). Every write of page data bumps DATA and
# the counters of what it changed: REGISTRY for the registry's rows, its app's counter
# (ANY_APP when the writer does not say), and the counters of the techniques whose own
# pages it changes (ANY_TECHNIQUE when the writer does not say which).
DATA, REGISTRY = "data", "registry"
ANY_APP, ANY_TECHNIQUE = "app:*", "technique:*"


def app_scope(label: str) -> str:
    return f"app:{label}"


def technique_scope(pk: int) -> str:
    return f"technique:{pk}"


def _versions(request, names: Iterable[str], technique_slug: str | None = None) -> dict:
    """The counters ``names`` and the data and registry versions (with
    ``technique_slug``, that technique's own counter too, under ``slug:<slug>``), in one
    query, remembered on the request: a page and its fragments read them once. A missing
    row reads as 0."""
    known = getattr(request, "_data_versions", None)
    if known is None:
        known = {}
        if request is not None:
            request._data_versions = known
    wanted = {DATA, REGISTRY, *names} - set(known)
    own = f"slug:{technique_slug}" if technique_slug is not None else None
    if own in known:
        own = None
    if wanted or own:
        DataVersion = apps.get_model("techniques", "DataVersion")
        chosen = Q(name__in=wanted)
        if own:
            Technique = apps.get_model("techniques", "Technique")
            scope = Concat(Value("technique:"), Cast("pk", CharField()), output_field=CharField())
            chosen |= Q(
                name__in=Technique.objects.filter(slug=technique_slug)
                .annotate(scope=scope)
                .values("scope")
            )
        found = dict(DataVersion.objects.filter(chosen).values_list("name", "value"))
        known.update({name: found.pop(name, 0) for name in wanted})
        if own:
            known[own] = next(iter(found.values()), 0)
    return known


def data_version(request=None, registry_only: bool = False) -> int:
    """The current data version (``registry_only``: the registry version); both are read
    in one query, once per request when the request is given."""
    return _versions(request, ())[REGISTRY if registry_only else DATA]


def cached(key: str, request, compute, timeout: int = TIMEOUT_SECONDS, registry_only: bool = False):
    """``compute()`` cached under ``key`` for the current data version (the registry
    version when it reads only the registry)."""
    full_key = f"{key}:{CODE_VERSION}:{data_version(request, registry_only)}"
    value = cache.get(full_key)
    if value is None:
        value = compute()
        cache.set(full_key, value, timeout)
    return value


def _bump_now(names: set[str]) -> None:
    """One statement: each counter + 1, a missing one made at 1."""
    DataVersion = apps.get_model("techniques", "DataVersion")
    table = connection.ops.quote_name(DataVersion._meta.db_table)
    rows = ", ".join(["(%s, 1)"] * len(names))
    with connection.cursor() as cursor:
        cursor.execute(
            # The table's name comes from the model; every value is a parameter.
            f"INSERT INTO {table} (name, value) VALUES {rows} "  # noqa: S608  # nosec B608
            f"ON CONFLICT (name) DO UPDATE SET value = {table}.value + 1",
            sorted(names),
        )


class _Bump:
    """What one transaction bumps, in one statement when it commits, however many of its
    writes asked (a webhook's upserts, figures and saves ask several times)."""

    def __init__(self) -> None:
        self.names: set[str] = {DATA}

    def add(self, names: set[str]) -> None:
        self.names |= names

    def __call__(self) -> None:
        if getattr(_pending, "bump", None) is self:
            _pending.bump = None
        _bump_now(self.names)


_pending = threading.local()


def bump_data_version(
    registry: bool = True, *, app: str | None = None, techniques: Iterable[int] | None = None
) -> None:
    """Make the cached pages of what a write changed stale (after the current transaction
    commits): ``registry`` for a write of the registry's rows; ``app``, the label of the
    app whose rows changed (None: any app's pages); ``techniques``, the ids of the
    techniques whose own pages (the technique page) it changed (None: any technique's;
    empty: none of them). The defaults make every page stale."""
    names = {DATA, app_scope(app) if app else ANY_APP}
    if registry:
        names.add(REGISTRY)
    if techniques is None:
        names.add(ANY_TECHNIQUE)
    else:
        names |= {technique_scope(pk) for pk in techniques}
    pending = waiting_on_commit(_pending, "bump", _Bump)
    if pending is None:
        _bump_now(names)
        return
    pending.add(names)


def changes_pages(model, update_fields=None) -> bool:
    """Whether saving (or deleting) a row of ``model`` can change a page: a model of the
    portal's apps, not bookkeeping (``page_data = False``), and not a save of only its
    ``bookkeeping_fields``."""
    if model._meta.app_label not in PROJECT_APPS or not getattr(model, "page_data", True):
        return False
    bookkeeping: frozenset[str] = getattr(model, "bookkeeping_fields", frozenset())
    return not (update_fields and frozenset(update_fields) <= bookkeeping)


def _techniques_changed(model, instance) -> tuple[int, ...] | None:
    """Whose technique pages a saved or deleted row changes, by its model's
    ``technique_pages``: True (the default), any technique's; False (GitHub items, runs,
    the sync's records), none; a field's name, only that of the technique it names
    (through related rows: ``"test.technique"``)."""
    scope = getattr(model, "technique_pages", True)
    if scope is True:
        return None
    if scope is False:
        return ()
    *path, field = scope.split(".")
    for name in path:
        instance = getattr(instance, name, None)
    pk = getattr(instance, f"{field}_id", None)
    return None if pk is None else (pk,)


def _on_change(sender, instance=None, update_fields=None, **kwargs):
    if changes_pages(sender, update_fields):
        label = sender._meta.app_label
        bump_data_version(
            registry=label == "techniques",
            app=getattr(sender, "page_scope", label),
            techniques=_techniques_changed(sender, instance),
        )


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


def _storable(response) -> bool:
    """A plain 200 that varies on the keyed headers only, rendered (DRF and template
    responses render lazily)."""
    if response.status_code != 200 or response.streaming:
        return False
    if not _varies_only_on_keyed_headers(response):
        return False
    if hasattr(response, "render"):
        response.render()
    return True


def _cached_response(key: str, view, request, *args, **kwargs):
    """The cached response under ``key``, or the view's, cached when it is storable."""
    response = cache.get(key)
    if response is None:
        response = view(request, *args, **kwargs)
        if _storable(response):
            cache.set(key, response, TIMEOUT_SECONDS)
    return response


def _scopes(registry_only: bool, reads: Iterable[str] | None, technique: bool) -> tuple:
    """The counters a page keys on: the registry's alone, the apps it reads, one
    technique's own pages, or (by default) every write."""
    if registry_only:
        return (REGISTRY,)
    if technique:
        return (REGISTRY, ANY_TECHNIQUE)
    if reads is not None:
        return (REGISTRY, ANY_APP, *sorted(app_scope(label) for label in reads))
    return (DATA,)


def _tag(request, names: tuple, technique_slug: str | None) -> str:
    versions = _versions(request, names, technique_slug)
    tag = [str(versions[name]) for name in names]
    if technique_slug is not None:
        tag.append(str(versions[f"slug:{technique_slug}"]))
    return ".".join(tag)


# A stale public page is served while one request renews it, for this long at most (a
# renewal that died leaves its mark until then).
RENEWAL_SECONDS = 30


def _renewed_response(key: str, tag: str, view, request, *args, **kwargs):
    """Stale-while-revalidate: the page cached under ``key`` when it was made at ``tag``;
    when it is older, the first request renews it and the requests arriving meanwhile get
    the older copy (one computation per change, not one per visitor)."""
    entry = cache.get(key)
    if entry is not None and entry[0] == tag:
        return entry[1]
    renewing = f"{key}:renewing"
    if entry is not None and not cache.add(renewing, 1, RENEWAL_SECONDS):
        return entry[1]
    try:
        response = view(request, *args, **kwargs)
        if _storable(response):
            cache.set(key, (tag, response), TIMEOUT_SECONDS)
    finally:
        if entry is not None:
            cache.delete(renewing)
    return response


def public_page(
    view=None,
    *,
    registry_only: bool = False,
    reads: Iterable[str] | None = None,
    technique: str | None = None,
):
    """Cache a public view's response for anonymous visitors, keyed on the counters of
    what it shows: by default every write; ``registry_only=True`` for a page of registry
    rows only; ``reads=(app labels)`` for a page of those apps' rows (and the registry's);
    ``technique="slug"`` for one technique's own page, the view's ``slug`` argument
    naming it (writes about other techniques leave it cached). A stale copy is served
    while one request renews it (:func:`_renewed_response`)."""
    if view is None:
        return functools.partial(
            public_page, registry_only=registry_only, reads=reads, technique=technique
        )
    names = _scopes(registry_only, reads, technique is not None)

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if not _cacheable(request):
            return view(request, *args, **kwargs)
        slug = kwargs.get(technique) if technique is not None else None
        tag = _tag(request, names, slug)
        key = f"page:{CODE_VERSION}:{_digest(request)}"
        return _renewed_response(key, tag, view, request, *args, **kwargs)

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


def private_page(view=None, *, reads: Iterable[str] | Callable | None = None):
    """Cache a signed-in user's read-only page, keyed on their session, their rights
    (:func:`rights_fingerprint`) and the counters of what it shows (every write by
    default; ``reads=(app labels)`` as for :func:`public_page`, or a function of the
    request that returns them): a second look costs two queries until that changes.
    Never stale: a person sees their own write at once. Pages with pending messages are
    never cached or served from the cache (the messages must show)."""
    if view is None:
        return functools.partial(private_page, reads=reads)

    def names(request) -> tuple:
        return _scopes(False, reads(request) if callable(reads) else reads, False)

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
            f"{_tag(request, names(request), None)}:{_digest(request)}"
        )
        return _cached_response(key, view, request, *args, **kwargs)

    return wrapper
