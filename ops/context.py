"""The id of the request (or of the task it queued) that the current code serves."""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar

request_id: ContextVar[str] = ContextVar("request_id", default="")

# Ids from clients and proxies are kept only when they are short and plain (log lines
# and headers must not carry what a client injects); otherwise a new one is made.
_VALID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
HEADER = "X-Request-ID"
TASK_HEADER = "portal_request_id"


def new_request_id(given: str | None = None) -> str:
    if given and _VALID.fullmatch(given):
        return given
    return uuid.uuid4().hex


def current() -> str:
    return request_id.get()
