"""The bootstrap decision: which proposals, confirmed or rejected."""

from django import forms

from github_integration.models import BootstrapProposal


class BootstrapDecisionForm(forms.Form):
    action = forms.ChoiceField(
        choices=[("confirm", "Confirm"), ("reject", "Reject")],
        error_messages={"required": "Choose Confirm or Reject."},
    )
    # Any proposal: the service decides only those still pending (a second tab's stale
    # selection changes nothing decided).
    proposal = forms.ModelMultipleChoiceField(
        queryset=BootstrapProposal.objects.all(),
        error_messages={"required": "Select at least one proposal."},
    )
