"""One permission: who may do one thing, and what a refused user is told.

Each app declares its permissions once (``<app>/permissions.py``). Views check them
before any validation, through ``get_permitted_or_404`` or ``check``; services check the
same object again, so a page and a service refuse with the same words.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.shortcuts import get_object_or_404

M = TypeVar("M", bound=Model)


def is_team(user, subject: object = None) -> bool:
    """A member of the TFMOT team (staff), whatever the subject."""
    return bool(user.is_authenticated and user.is_staff)


def is_team_or_owner(user, technique) -> bool:
    """The TFMOT team, or an active maintainer of the technique's owner group."""
    return bool(user.is_authenticated and (user.is_staff or technique.is_owned_by(user)))


@dataclass(frozen=True)
class Permission:
    may: Callable[[Any, Any], bool]  # may(user, subject): the subject may be None
    refusal: str

    def check(self, user, subject: object = None) -> None:
        """Raise ``PermissionDenied(refusal)`` unless ``user`` may act on ``subject``."""
        if not self.may(user, subject):
            raise PermissionDenied(self.refusal)


def get_permitted_or_404(
    request, permission: Permission, queryset: type[M] | QuerySet[M], **lookup
) -> M:
    """The object ``lookup`` finds in ``queryset`` (404 when there is none), when the
    request's user holds ``permission`` on it (403 with its refusal otherwise)."""
    found = get_object_or_404(queryset, **lookup)
    permission.check(request.user, found)
    return found
