"""The one client that speaks HTTP to GitHub (REST and GraphQL), below every app.

It imports no app: callers pass an ETag store, and read ``GitHubClient``, the errors and
the small value types from here.
"""

from github.client import (
    GRAPHQL_BATCH,
    PER_PAGE,
    Comparison,
    DictETagStore,
    ETagStore,
    GitHubClient,
    Page,
    PullDetails,
    RateLimit,
    Stats,
    parse_link_header,
    parse_timestamp,
    rest_user,
)
from github.errors import (
    AuthenticationFailed,
    BadResponse,
    Forbidden,
    GitHubError,
    GraphQLError,
    NotFound,
    RateLimited,
    Unavailable,
)

__all__ = [
    "GRAPHQL_BATCH",
    "PER_PAGE",
    "AuthenticationFailed",
    "BadResponse",
    "Comparison",
    "DictETagStore",
    "ETagStore",
    "Forbidden",
    "GitHubClient",
    "GitHubError",
    "GraphQLError",
    "NotFound",
    "Page",
    "PullDetails",
    "RateLimit",
    "RateLimited",
    "Stats",
    "Unavailable",
    "parse_link_header",
    "parse_timestamp",
    "rest_user",
]
