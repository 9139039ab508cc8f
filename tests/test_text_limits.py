"""Nothing typed is cut: every limited text box shows its limit and a count beside it
instead of a ``maxlength`` the browser would cut at, and the server refuses text over the
limit, saying by how much, and returns the form as it was typed."""

import html
import re

import pytest

from adherence.models import Gap
from reviews.models import Review
from reviews.services import cycles_ensure
from tests.factories import GapFactory

pytestmark = pytest.mark.django_db

ANSWER = "QAT keeps int8 accuracy within 0.5 % on MobileNetV2." * 1000  # 52,000 characters


def _review(pruning):
    return Review.objects.get(cycle=cycles_ensure(), technique=pruning)


def _found(pattern: str, page: str, group: int = 0) -> str:
    match = re.search(pattern, page, re.S)
    assert match, pattern
    return match.group(group)


def _textarea(page: str, name: str) -> str:
    return _found(rf'<textarea name="{name}"[^>]*>\n?(.*?)</textarea>', page, 1)


def test_a_long_review_answer_is_refused_whole_and_kept_as_typed(alice_client, pruning):
    review = _review(pruning)
    response = alice_client.post(
        f"/reviews/{review.pk}/edit",
        {"version": review.version, "benefits_usage": ANSWER, "action": "save"},
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert "Draft saved" not in page
    assert "Not saved: Benefits and usage: 52,000 characters, 32,000 over the limit of 20,000" in (
        page
    )
    assert _textarea(page, "benefits_usage") == ANSWER.strip()  # all of it, not 20,000
    assert "52,000 of 20,000 characters: 32,000 over the limit" in page
    review.refresh_from_db()
    assert review.benefits_usage == ""


def test_the_autosave_refuses_a_long_answer_and_says_so(alice_client, pruning):
    review = _review(pruning)
    response = alice_client.post(
        f"/reviews/{review.pk}/autosave", {"version": review.version, "major_updates": ANSWER}
    )
    assert response.status_code == 400
    assert response.json()["error"].startswith(
        "Not saved: Major updates since the last review: 52,000 characters, 32,000 over the limit"
    )
    review.refresh_from_db()
    assert review.major_updates == ""


def test_the_review_form_shows_each_limit_and_sets_no_maxlength(alice_client, pruning):
    review = _review(pruning)
    page = alice_client.get(f"/reviews/{review.pk}/edit").content.decode()
    assert "maxlength" not in page.split('id="review-form"')[1].split("</form>")[0]
    for name in ("benefits_usage", "major_updates", "proposal_maintainers", "proposal_notes"):
        shown = len(html.unescape(_textarea(page, name)).strip())
        assert (
            f'id="id_{name}-limit" data-limit-for="id_{name}">{shown:,} of 20,000 characters'
        ) in page
    assert 'data-limit="20000"' in page and 'aria-describedby="id_benefits_usage-limit"' in page
    assert "limits.js" in page


def test_a_long_gap_note_is_refused_and_kept_as_typed(alice_client, pruning):
    gap = GapFactory(technique=pruning)
    note = "We are recruiting a second maintainer from the Arm team." * 50  # 2,800
    response = alice_client.post(f"/adherence/gaps/{gap.pk}/acknowledge", {"note": note})
    page = response.content.decode()
    assert response.status_code == 400
    assert "Note: 2,800 characters, 800 over the limit of 2,000" in page
    assert _textarea(page, "note") == note.strip()
    assert 'data-limit="2000"' in page and "maxlength" not in _textarea_tag(page, "note")
    gap.refresh_from_db()
    assert gap.state == Gap.State.OPEN and gap.acknowledge_note == ""


def _textarea_tag(page: str, name: str) -> str:
    return _found(rf'<textarea name="{name}"[^>]*>', page)


def test_line_breaks_count_once_as_the_browser_counts_them(alice_client, pruning):
    """A form posts each line break as CR LF; the limit counts it as one character, as
    the count beside the box does."""
    gap = GapFactory(technique=pruning)
    note = "step\r\n" * 399 + "done"  # 1,999 characters once CR LF is one
    response = alice_client.post(f"/adherence/gaps/{gap.pk}/acknowledge", {"note": note})
    assert response.status_code == 302
    gap.refresh_from_db()
    assert gap.acknowledge_note == note.replace("\r\n", "\n")


def test_services_refuse_text_over_a_fields_limit_instead_of_cutting_it(alice, carol, pruning):
    """Whatever calls them (a form, the admin, a script), the services never store a cut
    version of what a person wrote: they refuse it, saying by how much it is over."""
    from datetime import timedelta

    from django.core.exceptions import ValidationError
    from django.utils import timezone

    from adherence.models import Campaign
    from adherence.services import campaign_create
    from lifecycle.models import TOSChangeRequest
    from lifecycle.services import tos_change_request

    limit = TOSChangeRequest._meta.get_field("justification").max_length
    with pytest.raises(ValidationError) as refused:
        tos_change_request(pruning, alice, "research", "x" * (limit + 5))
    assert "5 over the limit" in str(refused.value.message_dict["justification"])
    assert not TOSChangeRequest.objects.exists()
    title = "y" * (Campaign._meta.get_field("title").max_length + 1)
    with pytest.raises(ValidationError) as refused:
        campaign_create(carol, title, "ci-green", timezone.localdate() + timedelta(days=30))
    assert "1 over the limit" in str(refused.value.message_dict["title"])
