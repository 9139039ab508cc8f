#!/usr/bin/env python3
"""Take README screenshots of a running portal in headless Chromium.

Usage: .venv/bin/python scripts/screenshots.py [--base http://127.0.0.1:8000] [--out docs/screenshots]
Signs in as carol (demo staff) for the team pages. Pages that do not exist are skipped.
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
PUBLIC = [("home", "/"), ("technique", "/techniques/pruning/"), ("owners", "/owners/")]
SIGNED_IN = [
    ("adherence", "/adherence/"),
    ("reviews", "/reviews/"),
    ("ci", "/ci/"),
    ("releases", "/releases/"),
    ("sync", "/sync/"),
    ("pipeline", "/pipeline/"),
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    parser.add_argument("--out", default="docs/screenshots")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        for name, path in PUBLIC:
            page.goto(args.base + path)
            page.screenshot(path=out / f"{name}.png", full_page=False)
            print("saved", out / f"{name}.png")
        page.goto(args.base + "/accounts/login/")
        page.fill("#id_username", "carol")
        page.fill("#id_password", "demo-password")
        page.click("button[type=submit]")
        for name, path in SIGNED_IN:
            response = page.goto(args.base + path)
            if response is None or response.status != 200:
                print("skipped", path, response.status if response else "no response")
                continue
            page.screenshot(path=out / f"{name}.png", full_page=False)
            print("saved", out / f"{name}.png")
        browser.close()


if __name__ == "__main__":
    main()
