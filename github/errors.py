"""What the GitHub client raises: ``GitHubError`` and its kinds (``transient`` ones are
worth retrying later)."""

from __future__ import annotations

from datetime import datetime
from typing import Any


class GitHubError(Exception):
    """Anything the client could not turn into data; ``str()`` is for people."""

    transient = False

    def __init__(self, message: str, *, status: int | None = None, url: str = ""):
        super().__init__(message)
        self.status = status
        self.url = url


class NotFound(GitHubError):
    """404: the repository, user or file does not exist (or the token cannot see it)."""


class AuthenticationFailed(GitHubError):
    """401: the token is missing, wrong or expired."""


class Forbidden(GitHubError):
    """403 that is not a rate limit: the token lacks a permission."""


class RateLimited(GitHubError):
    """The rate limit is spent and its reset is further away than the client may wait."""

    transient = True

    def __init__(self, message: str, *, reset_at: datetime | None = None, **kwargs: Any):
        super().__init__(message, **kwargs)
        self.reset_at = reset_at


class Unavailable(GitHubError):
    """5xx, timeouts or broken connections, still failing after the retries."""

    transient = True


class BadResponse(GitHubError):
    """An answer that is not what GitHub sends: garbage JSON, a pagination loop."""


class GraphQLError(GitHubError):
    """A GraphQL answer with ``errors`` (HTTP 200): ``kind`` is GitHub's error type
    (NOT_FOUND, UNPROCESSABLE, FORBIDDEN...)."""

    def __init__(self, message: str, *, kind: str = "", **kwargs: Any):
        super().__init__(message, **kwargs)
        self.kind = kind
