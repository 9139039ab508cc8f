from django import forms

from adherence.engine import Severity
from adherence.services import MAX_NOTE
from techniques.models import TOSLevel
from tfmot_portal.forms import CleanCharField


class AcknowledgeForm(forms.Form):
    note = CleanCharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=MAX_NOTE,
        help_text="What you will do about it, or why it is not a problem.",
    )


class WaiveForm(forms.Form):
    reason = CleanCharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=MAX_NOTE)
    until = forms.DateField(
        label="Waived until",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="The gap returns when this date has passed.",
    )


class MatrixFilterForm(forms.Form):
    SORTS = [
        ("name", "Name"),
        ("health", "Health: worst first"),
        ("most", "Most open gaps first"),
        ("oldest", "Oldest gap first"),
    ]
    tos_level = forms.ChoiceField(
        required=False,
        choices=[("", "Any TOS"), *TOSLevel.choices],
    )
    owner_group = forms.CharField(required=False, max_length=120)
    stage = forms.CharField(required=False, max_length=20)
    severity = forms.ChoiceField(
        required=False,
        choices=[("", "Any severity"), *((s.value, s.value.title()) for s in Severity)],
    )
    area = forms.CharField(required=False, max_length=40)
    rule = forms.CharField(required=False, max_length=40)
    failing = forms.BooleanField(required=False, label="Only techniques with open gaps")
    mine = forms.BooleanField(required=False, label="My techniques only")
    sort = forms.ChoiceField(required=False, choices=SORTS)
