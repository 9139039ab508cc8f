"""Forms for every POST of the lifecycle pages: choices from the model enums, lengths
from the model fields, free text through ``tfmot_portal.forms.CleanCharField``."""

from __future__ import annotations

from typing import cast

from django import forms

from lifecycle.models import ContributionStep, Deprecation, OwnerInterest, TOSChangeRequest
from techniques.models import Technique, TechniqueChange, TOSLevel
from tfmot_portal.forms import CleanCharField


def _length(model, field: str) -> int:
    return model._meta.get_field(field).max_length


class ApproveField(forms.TypedChoiceField):
    """The team's decision, "yes" (approve) or "no" (reject), cleaned to a bool."""

    def __init__(self, **kwargs):
        choices = [("yes", "Approve"), ("no", "Reject")]
        super().__init__(choices=choices, coerce=lambda value: value == "yes", **kwargs)


# The browser's date picker; Django's DateField renders a text box.
DATE = forms.DateInput(attrs={"type": "date"})


class StepForm(forms.Form):
    """One row of the contribution checklist: a form per step on the lifecycle page."""

    state = forms.ChoiceField(choices=ContributionStep.State.choices)
    link = forms.URLField(
        required=False,
        max_length=_length(ContributionStep, "link"),
        assume_scheme="https",
        widget=forms.URLInput(attrs={"placeholder": "https://…"}),
    )
    done_on = forms.DateField(required=False, widget=DATE)
    note = CleanCharField(
        required=False,
        max_length=_length(ContributionStep, "note"),
        widget=forms.TextInput(attrs={"placeholder": "Note"}),
    )

    @classmethod
    def of(cls, step: ContributionStep, data=None) -> StepForm:
        """The step's row, filled in with what it holds (or bound to ``data``), its ids
        unique on the page."""
        initial = {name: getattr(step, name) for name in cls.base_fields}
        return cls(data, initial=initial, auto_id=f"step-{step.pk}-%s")


class LaunchForm(forms.Form):
    launch_date = forms.DateField(required=False, widget=DATE)
    override = CleanCharField(
        required=False, max_length=_length(TechniqueChange, "note") - len("Launched Override: ")
    )


class DeprecateForm(forms.Form):
    reason = forms.ChoiceField(choices=Deprecation.Reason.choices)
    planned_on = forms.DateField(widget=DATE)
    replacement = forms.ModelChoiceField(queryset=Technique.objects.all(), required=False)
    explanation = CleanCharField(
        required=False,
        max_length=_length(Deprecation, "explanation"),
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    call_for_owners = forms.BooleanField(required=False)

    def __init__(self, *args, technique: Technique, **kwargs):
        super().__init__(*args, **kwargs)
        replacement = cast(forms.ModelChoiceField, self.fields["replacement"])
        replacement.queryset = Technique.objects.exclude(pk=technique.pk)


class OfferHelpForm(forms.Form):
    message = CleanCharField(
        max_length=_length(OwnerInterest, "message"), widget=forms.Textarea(attrs={"rows": 2})
    )


class ModerateForm(forms.Form):
    approve = ApproveField()


class TOSRequestForm(forms.Form):
    to_level = forms.ChoiceField(choices=TOSLevel.choices)
    justification = CleanCharField(
        max_length=_length(TOSChangeRequest, "justification"),
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class TOSDecideForm(forms.Form):
    approve = ApproveField()
    note = CleanCharField(required=False, max_length=_length(TOSChangeRequest, "decision_note"))

    @classmethod
    def of(cls, change: TOSChangeRequest, data=None) -> TOSDecideForm:
        """The decision form of one pending request, its ids unique on the page."""
        return cls(data, auto_id=f"tos-{change.pk}-%s")
