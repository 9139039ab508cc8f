"""One callback per transaction that merges what several writes ask for (the page cache's
version bump, the adherence evaluation request) and runs once, after the commit."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from django.db import transaction

T = TypeVar("T", bound=Callable[[], object])


def waiting_on_commit(local: threading.local, name: str, make: Callable[[], T]) -> T | None:
    """The callable waiting under ``name`` for the current transaction to commit, made and
    registered with ``on_commit`` when none waits (or when its transaction or savepoint
    rolled back, so that it no longer waits); None outside a transaction, where the caller
    acts at once."""
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        return None
    pending = getattr(local, name, None)
    if pending is None or not any(entry[1] is pending for entry in connection.run_on_commit):
        pending = make()
        setattr(local, name, pending)
        transaction.on_commit(pending)
    return pending
