"""The client's ETag store for one resource of a sync: the ETag of its first page."""

from __future__ import annotations

from ci_status.models import SyncCursor
from techniques.text import fit


class CursorETags:
    """The ETag of a SyncCursor's first page's URL.

    A new ETag is kept aside and written only by ``commit()``, once every page of the
    listing is written: a sync that dies half-way must not make the next one a 304.
    Cursors belong to one source (API base and token identity, ``Repository.source``):
    switching sources deletes them, so an ETag is never sent to another server.
    """

    def __init__(self, cursor: SyncCursor):
        self.cursor = cursor
        self.pending: tuple[str, str] | None = None

    def get(self, url: str) -> str | None:
        return self.cursor.etag if self.cursor.url == url and self.cursor.etag else None

    def set(self, url: str, etag: str) -> None:
        self.pending = (fit(SyncCursor, "url", url), fit(SyncCursor, "etag", etag))

    def commit(self) -> None:
        if self.pending:
            self.cursor.url, self.cursor.etag = self.pending
            self.cursor.save(update_fields=["url", "etag"])
            self.pending = None
