import re

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.paginator import Paginator
from django.template.loader import render_to_string
from django.urls import reverse

from techniques.models import Technique
from techniques.selectors import group_page, technique_page
from tests.factories import MaintainerFactory, TechniqueFactory

pytestmark = pytest.mark.django_db


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def main_of(response) -> str:
    return text(response).split('<main id="main"')[1].split("</main>")[0]


def test_home_groups_techniques_by_tos_level_in_the_navigation(client, pruning, clustering):
    page = text(client.get("/"))
    nav = page.split('aria-label="Techniques by terms of service"')[1].split("</nav>")[0]
    production, research = nav.split("Research TOS")
    assert "Weight pruning" in production and "Weight clustering" not in production
    assert "Weight clustering" in research


def test_home_shows_owner_and_flags_a_group_below_two_maintainers(client, pruning):
    one_maintainer = MaintainerFactory(github_login="frank").group
    TechniqueFactory(name="Weight compression", owner_group=one_maintainer)
    page = text(client.get("/"))

    def row_of(name):
        return page.split(f">{name}</a></th>")[1].split("</tr>")[0]

    assert '1 <span class="warn">(needs 2+)</span>' in row_of("Weight compression")
    assert "TensorFlow Model Optimization" in row_of("Weight pruning")
    assert "(needs 2+)" not in row_of("Weight pruning")


def test_technique_page_shows_owned_by_under_the_title_and_the_tos_header(client, clustering):
    page = text(client.get("/techniques/clustering/"))
    title_block = page.split("<h1>Weight clustering</h1>")[1][:400]
    assert "<small>Owned by" in title_block and "Arm ML Tooling" in title_block
    assert "What to expect: Research terms of service" in page
    assert "New features are not expected" in page
    assert "@bob" in page and 'aria-label="direct assignee"' in page


def test_contacts_follow_the_group_contact_policy(client, pruning, clustering):
    clustering.owner_group.contact_policy = "open"
    clustering.owner_group.save()
    open_page = text(client.get("/techniques/clustering/"))
    docs_only = text(client.get("/techniques/pruning/"))
    assert f"mailto:{clustering.owner_group.mailing_list}" in open_page
    assert "mailto:" not in docs_only
    assert "Contact the owners directly only when the docs say so" in docs_only


def test_technique_page_lists_the_duties_of_its_tos_and_the_docstring(client, pruning):
    page = text(client.get("/techniques/pruning/"))
    assert "Provide release notes" in page
    assert "Owned by TensorFlow Model Optimization. Terms of service: Production." in page
    plain = client.get(reverse("techniques:docstring", args=["pruning"]))
    assert plain["Content-Type"].startswith("text/plain")
    assert plain.content.decode().startswith('"""Weight pruning (tfmot.sparsity.keras)')


def test_unknown_slug_is_a_helpful_404(client, pruning):
    response = client.get("/techniques/does-not-exist/")
    assert response.status_code == 404
    assert "All techniques" in text(response)


def test_owners_table_has_the_rfc_columns_and_stars(client, pruning):
    page = text(client.get("/owners/"))
    assert '<th scope="col">Subpackage</th>' in page
    assert '<th scope="col">Contact Information</th>' in page
    assert "@alice*" in page and "@dave," not in page.split("@alice*")[0]


def test_owners_markdown_download(client, pruning):
    response = client.get("/owners/OWNERS.md")
    body = response.content.decode()
    assert response["Content-Type"].startswith("text/markdown")
    assert "attachment" in response["Content-Disposition"]
    assert "| Subpackage | Owners | Contact Information |" in body
    assert (
        "| tfmot.sparsity.keras | TensorFlow Model Optimization | "
        "@tf-mot@example.org, @alice*, @dave |"
    ) in body


def test_codeowners_is_built_from_path_globs_with_active_owners(client, pruning):
    pruning.owner_group.github_team = "tensorflow/tf-mot"
    pruning.owner_group.save()
    MaintainerFactory(group=pruning.owner_group, github_login="olduser", status="emeritus")
    body = client.get("/owners/CODEOWNERS").content.decode()
    assert "/tensorflow_model_optimization/pruning/ @alice @dave @tensorflow/tf-mot" in body
    assert "olduser" not in body


def test_my_page_needs_sign_in_and_lists_what_i_own(client, alice, bob, pruning, clustering):
    assert "/accounts/login/" in client.get("/me/")["Location"]
    assert client.get("/me/techniques/")["Location"] == "/me/"  # the former address
    client.force_login(alice)
    page = main_of(client.get("/me/"))
    assert "Weight pruning" in page and "Weight clustering" not in page
    client.force_login(bob)
    assert "Weight clustering" in main_of(client.get("/me/"))


def test_signed_out_users_see_no_team_sections(client, pruning):
    page = text(client.get("/"))
    assert ">Sign in<" in page
    assert ">Admin<" not in page and ">My page<" not in page


def test_staff_see_the_admin_link(carol_client, pruning):
    assert ">Admin<" in text(carol_client.get("/"))


def add_techniques(count: int) -> None:
    for _ in range(count):
        technique = TechniqueFactory()
        MaintainerFactory.create_batch(2, group=technique.owner_group)


@pytest.mark.parametrize(
    "path", ["/", "/techniques/pruning/", "/owners/", "/owners/OWNERS.md", "/owners/CODEOWNERS"]
)
def test_public_pages_run_a_bounded_number_of_queries_whatever_the_size(
    client, pruning, query_counts, path
):
    def read():
        assert client.get(path).status_code == 200

    # The same count with 4 and with 40 techniques: no query per technique.
    small, large = query_counts(add_techniques, read, at_most=15, sizes=(3, 36))
    assert small == large


def test_anonymous_users_cannot_write_through_the_api(client, pruning):
    for method in ("post", "put", "patch", "delete"):
        response = getattr(client, method)(
            "/api/techniques/pruning/", {}, content_type="application/json"
        )
        assert response.status_code == 403, method
    assert client.post("/api/techniques/", {"slug": "x"}).status_code == 403
    assert list(Technique.objects.values_list("slug", flat=True)) == ["pruning"]


def test_home_shows_health_at_a_glance(client, lonely, clustering):
    from adherence.services import gaps_evaluate

    gaps_evaluate()
    page = main_of(client.get("/"))
    # The stored level, linked to the page that explains it; research clustering keeps
    # its level apart from pruning's.
    assert "In trouble" in page and 'href="/health/#level-trouble"' in page


def test_page_links_keep_every_filter_of_the_page(client, rf):
    """Paging a filtered list keeps its filters, a repeated one included."""
    request = rf.get("/adherence/", {"area": ["ci", "community"], "open": "1", "page": "2"})
    request.user = AnonymousUser()
    page = Paginator(range(90), 30).get_page(2)
    links = render_to_string("_pagination.html", {"page": page}, request=request)
    assert 'href="?area=ci&amp;area=community&amp;open=1&amp;page=1"' in links
    assert 'href="?area=ci&amp;area=community&amp;open=1&amp;page=3"' in links
    assert "Page 2 of 3" in links


def test_owner_groups_index_lists_every_group_as_its_page_does(client, lonely, clustering):
    """/groups/ is reachable from the owners page and each group's page; it counts each
    group's techniques and active maintainers as the group page does, flags a group short
    of 2+ active maintainers, and pages through many groups."""
    assert 'href="/groups/"' in text(client.get("/owners/"))
    assert 'href="/groups/"' in text(client.get("/groups/arm/"))
    TechniqueFactory(owner_group=clustering.owner_group)
    page = main_of(client.get("/groups/"))

    def row(slug):
        return page.split(f'id="group-{slug}"')[1].split("</tr>")[0]

    assert "@alice*" in row("tf-mot") and "@dave" not in row("tf-mot")  # dave is emeritus
    assert "(needs 2+)" in row("tf-mot")
    assert "@bob*, @erin" in row("arm") and "(needs 2+)" not in row("arm")
    assert '<td data-label="Techniques">1</td>' in row("tf-mot")
    assert '<td data-label="Techniques">2</td>' in row("arm")
    group_page = main_of(client.get("/groups/arm/"))
    assert 'Techniques <span class="count">(2)</span>' in group_page

    for n in range(30):
        MaintainerFactory(group__name=f"Group {n:02}")
    assert "Page 1 of 2" in main_of(client.get("/groups/"))
    second = main_of(client.get("/groups/?page=2"))
    assert "Group 29" in second
    assert '<td data-label="Techniques">0</td>' in second.split(">Group 29<")[1]


def test_maintainers_e_mail_shows_only_where_the_contact_policy_invites_contact(
    client, pruning, clustering
):
    """One rule for the technique and group pages: the selectors' ``may_show_email`` is
    the group's contact policy, and the pages show addresses only under it."""
    clustering.owner_group.contact_policy = "open"
    clustering.owner_group.save()
    for technique in (pruning, clustering):
        technique.owner_group.maintainers.update(email="owner@example.org")
    assert technique_page("clustering", AnonymousUser())["may_show_email"] is True
    assert technique_page("pruning", AnonymousUser())["may_show_email"] is False
    assert group_page("arm")["may_show_email"] is True
    assert group_page("tf-mot")["may_show_email"] is False
    assert technique_page("missing", AnonymousUser()) is None and group_page("missing") is None
    for url, shown in [
        ("/techniques/clustering/", True),
        ("/groups/arm/", True),
        ("/techniques/pruning/", False),
        ("/groups/tf-mot/", False),
    ]:
        assert ("mailto:owner@example.org" in text(client.get(url))) is shown, url
