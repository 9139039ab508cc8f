"""The owners' review form: one count of what is left to complete (the form's and the
preview's), text sections drafted from the evidence with that evidence beside them, and
no rating asked for a duty the portal finds N/A."""

import re
from datetime import UTC, datetime, timedelta
from html import unescape
from html.parser import HTMLParser

import pytest
from django.utils import timezone

from adherence.engine import Status
from reviews.models import Review
from reviews.services import cycles_ensure
from tests.factories import (
    BenefitTargetFactory,
    ConvergenceTestFactory,
    ItemTechniqueFactory,
    PullRequestFactory,
    ReleaseFactory,
    RuleResultFactory,
)

pytestmark = pytest.mark.django_db


class FormValues(HTMLParser):
    """What a browser posts for the review form as it is shown: text and hidden inputs,
    checked radios and boxes, textareas, selected options (no button)."""

    def __init__(self):
        super().__init__()
        self.data: dict[str, str] = {}
        self._textarea = self._select = None
        self._inside = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and a.get("id") == "review-form":
            self._inside = True
        if not self._inside:
            return
        if tag == "input" and a.get("name"):
            kind = a.get("type", "text")
            if kind in ("text", "hidden"):
                self.data[a["name"]] = a.get("value", "")  # no value: the browser sends ""
            elif kind in ("radio", "checkbox") and "checked" in a:
                self.data[a["name"]] = a.get("value", "on")
        elif tag == "textarea":
            self._textarea = a["name"]
            self.data[self._textarea] = ""
        elif tag == "select":
            self._select = a["name"]
        elif tag == "option" and self._select and "selected" in a:
            self.data[self._select] = a.get("value", "")

    def handle_endtag(self, tag):
        if tag == "form":
            self._inside = False
        elif tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None

    def handle_data(self, data):
        if self._textarea:
            self.data[self._textarea] += data


def form_as_shown(page: str) -> dict[str, str]:
    parser = FormValues()
    parser.feed(page)
    # A textarea's first newline belongs to the markup, as browsers read it.
    return {k: v.removeprefix("\n") for k, v in parser.data.items()}


def items(html: str) -> list[str]:
    return [
        unescape(re.sub(r"<[^>]+>", "", li)).strip() for li in re.findall(r"<li>(.*?)</li>", html)
    ]


@pytest.fixture
def review(pruning):
    cycle = cycles_ensure()
    return Review.objects.get(cycle=cycle, technique=pruning)


@pytest.fixture
def results(pruning):
    """The portal's results for pruning: one duty met, one not, one N/A."""
    now = timezone.now()
    RuleResultFactory(
        technique=pruning, rule_id="technique-label", status=Status.PASS, evaluated_at=now
    )
    RuleResultFactory(
        technique=pruning, rule_id="questions-answered", summary="1 issue waited", evaluated_at=now
    )
    RuleResultFactory(
        technique=pruning,
        rule_id="deprecation-owners",
        status=Status.NA,
        summary="Applies in stage deprecating; the technique is launched.",
        evaluated_at=now,
    )


def test_the_forms_count_is_the_list_its_preview_shows(alice_client, review, results):
    url = f"/reviews/{review.pk}/edit"
    page = alice_client.get(url).content.decode()
    missing = page.split('id="missing"')[1].split("</div>")[0]
    count = int(re.search(r"Before submitting: (\d+) parts? still to complete", missing)[1])
    listed = items(missing)
    assert count == len(listed) > 0
    # Saved as shown (pre-filled ratings, drafted texts), the preview lists the same parts.
    response = alice_client.post(url, {**form_as_shown(page), "action": "save"})
    assert response.status_code == 302
    preview = alice_client.get(f"/reviews/{review.pk}/preview").content.decode()
    problems = preview.split('role="alert"')[1].split("</div>")[0]
    assert items(problems) == listed
    again = alice_client.get(url).content.decode()
    assert f"{count} part" in again


def test_a_fresh_form_drafts_its_texts_from_the_evidence(alice_client, review, pruning):
    start = datetime.combine(review.cycle.starts_on, datetime.min.time(), tzinfo=UTC)
    test = ConvergenceTestFactory(technique=pruning, name="mobilenetv2-sparsity50")
    BenefitTargetFactory(
        test=test,
        metric="top1_accuracy",
        documented_value=71.334,
        unit="%",
        latest_value=70.612,
        regressed=True,
    )
    merged = PullRequestFactory(
        merged=True, title="Sparsity 2:4 for Conv2D", created_at=start + timedelta(days=20)
    )
    before = PullRequestFactory(
        merged=True, title="An older change", created_at=start - timedelta(days=3)
    )
    for pr in (merged, before):
        ItemTechniqueFactory(issue=pr, technique=pruning)
    ReleaseFactory(tag="v0.9.0", published_at=start + timedelta(days=30))
    page = alice_client.get(f"/reviews/{review.pk}/edit").content.decode()
    values = form_as_shown(page)
    benefits, updates = unescape(values["benefits_usage"]), unescape(values["major_updates"])
    assert "`top1_accuracy`: 70.612% against the documented at least 71.334%" in benefits
    assert "misses it" in benefits and "1 pull request merged in the period" in benefits
    assert f"#{merged.number}" in updates and "Sparsity 2:4 for Conv2D" in updates
    assert "older change" not in updates and "v0.9.0" in updates
    # Marked as the portal's draft, with each section's evidence beside it, above Submit.
    assert page.count("Draft from evidence") == 2
    section = page.split('aria-labelledby="h-updates"')[1].split("</section>")[0]
    assert 'aria-label="Evidence for major updates"' in section and "Sparsity 2:4" in section
    assert "<details" not in page.split('id="review-form"')[1]
    # Once the owners write their own text, it is theirs: no draft mark on it.
    values.update(benefits_usage="Used by the Pixel team.", action="save")
    alice_client.post(f"/reviews/{review.pk}/edit", values)
    page = alice_client.get(f"/reviews/{review.pk}/edit").content.decode()
    assert page.count("Draft from evidence") == 1 and "Used by the Pixel team." in page


def test_a_duty_the_portal_finds_na_asks_for_no_rating(alice_client, alice, review, results):
    from reviews.services import review_submit

    page = alice_client.get(f"/reviews/{review.pk}/edit").content.decode()
    assert 'name="rating-deprecation-owners"' not in page
    assert "Not applicable now" in page and "Applies in stage deprecating" in page
    values = form_as_shown(page)
    for name in [n for n in values if n.startswith("note-")]:
        values[name] = "As we see it."
    for name in [n for n in values if n.startswith("note-")]:
        values.setdefault(name.replace("note-", "rating-"), "met")
    alice_client.post(f"/reviews/{review.pk}/edit", {**values, "action": "save"})
    review.refresh_from_db()
    assert "deprecation-owners" not in review.self_assessment
    review_submit(review, alice)
    assert Review.objects.get(pk=review.pk).status == Review.Status.SUBMITTED
    detail = alice_client.get(f"/reviews/{review.pk}/").content.decode()
    assert "not rated: N/A" in detail
