"""Readable labels for stored review values (ratings, statuses, sections, rules)."""

from django import template

from adherence import engine
from reviews.models import Review
from reviews.services import SECTIONS

register = template.Library()

EXTRA_SECTIONS = {"comments": "Comments"}


@register.filter
def rating_label(value: str) -> str:
    try:
        return Review.Rating(value).label
    except ValueError:
        return "Not assessed"


@register.filter
def review_status_label(value: str) -> str:
    try:
        return Review.Status(value).label
    except ValueError:
        return value or "—"


@register.filter
def section_label(value: str) -> str:
    return SECTIONS.get(value) or EXTRA_SECTIONS.get(value) or value.replace("_", " ").capitalize()


@register.filter
def rule_title(rule_id: str) -> str:
    rule = engine.RULES.get(rule_id)
    return rule.title if rule else rule_id
