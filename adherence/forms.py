from typing import cast

from django import forms

from adherence import engine
from adherence.engine import Severity
from adherence.models import Campaign
from adherence.services import MAX_NOTE, MAX_REMEDIATION_NOTE
from techniques.models import Maintainer, TOSLevel
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


DATE = forms.DateInput(attrs={"type": "date"})


class MaintainerField(forms.ModelChoiceField):
    """A maintainer by login, the star on the group's direct assignee."""

    def label_from_instance(self, obj) -> str:
        return f"@{obj.github_login}{'*' if obj.is_direct_assignee else ''}"


class RemediationForm(forms.Form):
    """A gap's due date and assignee: the assignee is one of the owner group's active
    maintainers (the service checks it again)."""

    due_on = forms.DateField(label="Due on", widget=DATE)
    assignee = MaintainerField(queryset=Maintainer.objects.none(), label="Assignee")
    note = CleanCharField(required=False, max_length=MAX_REMEDIATION_NOTE)

    def __init__(self, *args, gap, **kwargs):
        super().__init__(*args, **kwargs)
        group_id = gap.technique.owner_group_id
        field = cast(MaintainerField, self.fields["assignee"])
        field.queryset = (
            Maintainer.objects.active()
            .filter(group_id=group_id)
            .order_by("-is_direct_assignee", "github_login")
        )

    @classmethod
    def of(cls, gap, data=None):
        remediation = getattr(gap, "remediation", None)
        initial = (
            {
                "due_on": remediation.due_on,
                "assignee": remediation.assignee_id,
                "note": remediation.note,
            }
            if remediation
            else {}
        )
        return cls(data, gap=gap, initial=initial)


class CampaignForm(forms.Form):
    title = CleanCharField(max_length=Campaign._meta.get_field("title").max_length)
    rule_id = forms.ChoiceField(label="Rule", choices=())
    tos_level = forms.ChoiceField(
        label="Techniques", required=False, choices=[("", "Every TOS"), *TOSLevel.choices]
    )
    due_on = forms.DateField(label="Due on", widget=DATE)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        rules = sorted(engine.RULES.values(), key=lambda r: r.title.lower())
        cast(forms.ChoiceField, self.fields["rule_id"]).choices = [(r.id, r.title) for r in rules]


class WaiverRequestForm(forms.Form):
    reason = CleanCharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=MAX_NOTE,
        help_text="Why the duty cannot be met for now, and what happens meanwhile.",
    )
    until = forms.DateField(
        label="Waived until",
        widget=DATE,
        help_text="The gap returns when this date has passed.",
    )


class WaiverDecideForm(forms.Form):
    approve = forms.TypedChoiceField(
        choices=[("yes", "Approve"), ("no", "Reject")], coerce=lambda v: v == "yes"
    )
    comment = CleanCharField(
        required=False,
        max_length=MAX_NOTE,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Required to reject: the owners read it in the gap's history.",
    )

    @classmethod
    def of(cls, request, data=None):
        """The decision form of one request, its ids unique on the queue page."""
        return cls(data, auto_id=f"waiver-{request.pk}-%s")
