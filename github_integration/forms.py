"""The bootstrap decision: which proposals, confirmed or rejected."""

from allauth.socialaccount.forms import SignupForm as SocialSignupForm
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


class GitHubSignupForm(SocialSignupForm):
    """allauth's social sign-up form with the user name fixed to the GitHub login.

    The portal signs GitHub accounts up automatically (``SocialAccountAdapter``), so this
    form is not shown; should allauth ever show it, a posted user name is ignored.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "username" in self.fields:
            self.fields["username"].disabled = True
