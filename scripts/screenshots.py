#!/usr/bin/env python3
"""Take README screenshots of a running portal in headless Chromium, desktop and phone.

Usage: .venv/bin/python scripts/screenshots.py [--base http://127.0.0.1:8000] [--out docs/screenshots]
       [--only bisections,bisection]
Signs in as carol (demo staff) and alice (demo owner) for their pages. Pages that do not
exist are skipped.
"""

import argparse
from pathlib import Path

from playwright.sync_api import sync_playwright

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-gpu",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP = {"width": 1366, "height": 900}
# Shots of a page reached by a link (ids differ between demo loads), taken whole.
# The gap: QAT's failing convergence test, whose page shows the culprit range.
# The bisection: QAT's red test, verified and reverted by the worker (docs/bisection.md).
FOLLOW = {
    "gap": "td.cell-fail[title*='Failing: qat/'] a",
    "bisection": "th[data-label=Test] a:text('qat/mobilenetv2')",
    # An owner's review form (her first review to fill in) and a campaign's burn-down.
    "review-form": "td[data-label=Action] a.button:text('Fill in')",
    "campaign": "td[data-label=Campaign] a",
    # A review waiting for the team's decision; a run of the CI grid.
    "review-decide": "td[data-label=Action] a.button:text('Decide')",
    "run": "a[href^='/ci/runs/']",
}
PHONE = {"width": 390, "height": 844}
# (file name, path, who: None for a visitor, or a demo user name, viewport)
SHOTS = [
    ("home", "/", None, DESKTOP),
    ("technique", "/techniques/pruning/", None, DESKTOP),
    ("owners", "/owners/", None, DESKTOP),
    ("groups", "/groups/", None, DESKTOP),
    ("group", "/groups/tf-mot/", None, DESKTOP),
    ("ci", "/ci/", None, DESKTOP),
    ("releases", "/releases/", None, DESKTOP),
    ("pipeline", "/pipeline/", None, DESKTOP),
    ("phone-home", "/", None, PHONE),
    ("phone-technique", "/techniques/pruning/", None, PHONE),
    ("phone-ci", "/ci/", None, PHONE),
    ("landing-team", "/me/", "carol", DESKTOP),
    ("adherence", "/adherence/?sort=health", "carol", DESKTOP),
    ("reviews", "/reviews/", "carol", DESKTOP),
    ("trend", "/adherence/trend/", "carol", DESKTOP),
    ("audit", "/audit/", "carol", DESKTOP),
    ("sync", "/sync/", "carol", DESKTOP),
    ("landing-owner", "/me/", "alice", DESKTOP),
    ("review-form", "/reviews/", "alice", DESKTOP),
    ("gap", "/adherence/?technique=qat", "carol", DESKTOP),
    ("bisections", "/ci/bisections/", "carol", DESKTOP),
    ("review-decide", "/reviews/", "carol", DESKTOP),
    ("campaigns", "/adherence/campaigns/", "carol", DESKTOP),
    ("campaign", "/adherence/campaigns/", "carol", DESKTOP),
    ("waiver-requests", "/adherence/waiver-requests/", "carol", DESKTOP),
    ("tos-requests", "/lifecycle/tos-requests/", "carol", DESKTOP),
    ("lifecycle", "/lifecycle/weight-sharing-llm/", "carol", DESKTOP),
    ("ownership", "/lifecycle/ownership/", "carol", DESKTOP),
    ("rule", "/adherence/rules/convergence-green/", None, DESKTOP),
    ("search", "/search/?q=quantization", None, DESKTOP),
    ("health", "/health/", None, DESKTOP),
    ("run", "/ci/", None, DESKTOP),
    ("api-docs", "/api/docs/", None, DESKTOP),
    ("triage", "/sync/triage/", "carol", DESKTOP),
    ("bootstrap", "/github/bootstrap/", "carol", DESKTOP),
    ("account", "/me/github/", "alice", DESKTOP),
    ("bisection", "/ci/bisections/", "carol", DESKTOP),
    ("phone-landing-owner", "/me/", "alice", PHONE),
]


def sign_in(page, base: str, username: str) -> None:
    page.goto(base + "/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "demo-password")
    page.click("form:has(#id_password) button[type=submit]")
    page.wait_for_url("**/me/")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    parser.add_argument("--out", default="docs/screenshots")
    parser.add_argument("--only", default="", help="comma-separated shot names (default: all)")
    args = parser.parse_args()
    only = {name for name in args.only.split(",") if name}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        pages = {}
        for name, path, who, viewport in SHOTS:
            if only and name not in only:
                continue
            key = (who, viewport["width"])
            if key not in pages:
                pages[key] = browser.new_page(
                    viewport={"width": viewport["width"], "height": viewport["height"]}
                )
                if who:
                    sign_in(pages[key], args.base, who)
            page = pages[key]
            response = page.goto(args.base + path)
            if name in FOLLOW and response is not None and response.status == 200:
                link = page.locator(FOLLOW[name]).first
                response = (
                    page.goto(args.base + link.get_attribute("href")) if link.count() else None
                )
            if response is None or response.status != 200:
                print("skipped", name, path, response.status if response else "no response")
                continue
            page.screenshot(path=out / f"{name}.png", full_page=name in FOLLOW)
            print("saved", out / f"{name}.png")
        browser.close()


if __name__ == "__main__":
    main()
