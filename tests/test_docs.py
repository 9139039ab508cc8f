"""The README stays short and points only at pages that exist; the docs site's own
links are checked by `mkdocs build --strict` in `make check`."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_readme_is_short_and_its_links_exist():
    text = (ROOT / "README.md").read_text()
    assert len(text.splitlines()) <= 250
    targets = re.findall(r"\]\(((?:docs/)[^)#]+)", text)
    assert targets, "the README links to the guides"
    missing = [t for t in targets if not (ROOT / t).exists()]
    assert missing == []
