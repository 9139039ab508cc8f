"""Filters of the CI grid and the bisections list (choices from the model enums)."""

from django import forms

from convergence.models import Bisection, ConvergenceTest, State
from techniques.models import TOSLevel


class GridFilterForm(forms.Form):
    tos = forms.ChoiceField(
        label="Terms of service", choices=[("", "All"), *TOSLevel.choices], required=False
    )
    state = forms.ChoiceField(label="State", choices=[("", "All"), *State.choices], required=False)
    kind = forms.ChoiceField(
        label="Kind", choices=[("", "All"), *ConvergenceTest.Kind.choices], required=False
    )
    group = forms.SlugField(label="Owner group", required=False, max_length=120)
    technique = forms.SlugField(label="Technique", required=False, max_length=80)
    mine = forms.BooleanField(label="My techniques only", required=False)
    sort = forms.ChoiceField(
        label="Sort",
        choices=[("status", "Failing and flaky first"), ("name", "By technique")],
        required=False,
    )


class BisectionFilterForm(forms.Form):
    state = forms.ChoiceField(
        label="State", choices=[("", "All"), *Bisection.State.choices], required=False
    )
