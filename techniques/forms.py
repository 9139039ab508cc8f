from django import forms

from techniques.models import Technique
from techniques.selectors import AUDIT_KINDS, audit_actors


class LinesField(forms.CharField):
    """A list edited as one item per line (labels, path globs)."""

    widget = forms.Textarea(attrs={"rows": 3})

    def prepare_value(self, value):
        if isinstance(value, list):
            return "\n".join(value)
        return value

    def to_python(self, value):
        if isinstance(value, list):
            return value
        return [line.strip() for line in (value or "").splitlines() if line.strip()]


class TechniqueAdminForm(forms.ModelForm):
    github_labels = LinesField(
        required=False, help_text="One label per line; the first is the technique's own label."
    )
    path_globs = LinesField(
        required=False,
        help_text="One CODEOWNERS path pattern per line, e.g. tensorflow_model_optimization/python/core/sparsity/",
    )

    class Meta:
        model = Technique
        fields = "__all__"  # noqa: DJ007 - the admin's fieldsets choose what is shown


class AuditFilterForm(forms.Form):
    """The audit trail's filters: a kind of record, a person, a technique."""

    model = forms.ChoiceField(
        label="Kind", required=False, choices=[("", "Everything"), *AUDIT_KINDS.items()]
    )
    actor = forms.ModelChoiceField(
        label="By",
        queryset=audit_actors(),
        to_field_name="username",
        required=False,
        empty_label="Anyone",
    )
    technique = forms.ModelChoiceField(
        label="Technique",
        queryset=Technique.objects.order_by("name"),
        to_field_name="slug",
        required=False,
        empty_label="Every technique",
    )
