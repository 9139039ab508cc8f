"""Forms of every POST of the reviews: the owners' draft, decisions, shepherds, preview.

Choices come from the model enums and lengths from the model fields; free text goes
through ``CleanCharField``. Views run services through ``tfmot_portal.forms.run_service``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms
from django.contrib.auth import get_user_model

from reviews.models import MAX_TEXT, PROPOSAL_TOS, Review
from reviews.services import SECTIONS, TEXT_FIELDS, override_problems
from techniques.text import max_length
from tfmot_portal.forms import CleanCharField

MAX_PREVIEW = 20_000
NOTE_PLACEHOLDER = "Note (required unless met and agreeing with the portal)"


def _max_length(name: str) -> int:
    return max_length(Review, name) or MAX_TEXT


class ReviewForm(forms.Form):
    """The owners' draft: texts, proposals and one rating and note per duty.

    ``duties`` are the duties the owners rate (``services.rated_duties``: the portal's
    N/A ones have no rating); ``suggestions`` the ratings the portal suggests from its
    results ({duty_id: rating}). Rating a duty better than the portal
    finds it needs a note: the override is the owners' to explain.
    """

    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    # The edit page's two buttons; submitting is the preview page's, after a look.
    action = forms.ChoiceField(
        choices=[("save", "Save draft"), ("preview", "Preview and submit")], required=False
    )
    benefits_usage = CleanCharField(
        label="Benefits and usage",
        required=False,
        max_length=_max_length("benefits_usage"),
        widget=forms.Textarea(attrs={"rows": 8, "data-preview": "pv-benefits"}),
    )
    major_updates = CleanCharField(
        label="Major updates since the last review",
        required=False,
        max_length=_max_length("major_updates"),
        widget=forms.Textarea(attrs={"rows": 8, "data-preview": "pv-updates"}),
    )
    proposal_tos = forms.ChoiceField(
        label="Terms of service",
        required=False,
        choices=PROPOSAL_TOS,
    )
    proposal_maintainers = CleanCharField(
        label="Maintainers to add or retire",
        required=False,
        max_length=_max_length("proposal_maintainers"),
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    proposal_deprecate = forms.BooleanField(
        label="Propose to deprecate this technique", required=False
    )
    proposal_notes = CleanCharField(
        label="Other notes",
        required=False,
        max_length=_max_length("proposal_notes"),
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, duties=(), suggestions=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.duties = list(duties)
        self.suggestions = suggestions or {}
        for duty in self.duties:
            self.fields[f"rating-{duty.id}"] = forms.ChoiceField(
                label=duty.title,
                choices=Review.Rating.choices,
                required=False,
                widget=forms.RadioSelect,
            )
            self.fields[f"note-{duty.id}"] = CleanCharField(
                label=f"Note on {duty.title}",
                required=False,
                max_length=MAX_TEXT,
                widget=forms.TextInput(attrs={"placeholder": NOTE_PLACEHOLDER}),
            )

    def overrides(self) -> dict[str, str]:
        """Duties rated better than the portal finds them, without a note: {key: message}."""
        return override_problems(self.duties, self.draft()["self_assessment"], self.suggestions)

    def draft(self) -> dict:
        """The cleaned data in the shape ``review_save_draft`` takes."""
        return self._draft(self.cleaned_data)

    def shown(self) -> dict:
        """The draft as the form shows it: the cleaned data of a bound form, else its
        initial values (what saving the form unchanged would store)."""
        return self.draft() if self.is_bound else self._draft(self.initial)

    def _draft(self, values: Mapping[str, Any]) -> dict:
        data = {name: values.get(name) or "" for name in TEXT_FIELDS}
        data["proposal_tos"] = values.get("proposal_tos") or ""
        data["proposal_deprecate"] = bool(values.get("proposal_deprecate"))
        data["self_assessment"] = {
            duty.id: {
                "rating": values.get(f"rating-{duty.id}") or "",
                "note": values.get(f"note-{duty.id}") or "",
            }
            for duty in self.duties
        }
        return data

    @property
    def loaded_version(self) -> int:
        return self.cleaned_data.get("version") or 0


class DecideForm(forms.Form):
    decision = forms.ChoiceField(
        choices=[("accept", "Accept review"), ("changes", "Request changes")]
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for key, title in SECTIONS.items():
            self.fields[f"comment-{key}"] = CleanCharField(
                label=f"Comment: {title}",
                required=False,
                max_length=MAX_TEXT,
                widget=forms.Textarea(attrs={"rows": 2}),
            )

    def comment_fields(self) -> list[forms.BoundField]:
        """A comment box per section of the review, in the review's order."""
        return [self[f"comment-{key}"] for key in SECTIONS]

    @property
    def accept(self) -> bool:
        return self.cleaned_data["decision"] == "accept"

    def comments(self) -> dict[str, str]:
        return {key: self.cleaned_data.get(f"comment-{key}", "") for key in SECTIONS}


def shepherds():
    """Who may shepherd a review: active staff."""
    return get_user_model().objects.filter(is_staff=True, is_active=True)


class ShepherdForm(forms.Form):
    shepherd = forms.ModelChoiceField(
        queryset=shepherds(),
        required=False,
        empty_label="nobody",
    )


class PreviewForm(forms.Form):
    text = forms.CharField(required=False, max_length=MAX_PREVIEW, strip=False)


class SubmitForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
