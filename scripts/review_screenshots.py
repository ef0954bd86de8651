"""Screenshots of the review app's recovery ledger and dashboard on an output folder, e.g.
a simulated audit year's (``WORK/<world>-<seed>/audited/out`` of ``sentinel evaluate
--simulate-audits``), with Debian's Chromium.

    PYTHONPATH=. .venv/bin/python scripts/review_screenshots.py \
        --out WORK/reference-7/audited/out --as-of 2020-12-31 --month 2020-12 \
        --dest docs/screenshots --suffix simulated-year

Adds a reviewer ``screenshots`` to the folder's case store (password from the environment
variable SENTINEL_REVIEW_PASSWORD, set here for the run), serves the app on a free local
port and signs in; writes ``recovery-<suffix>.png`` and ``dashboard-<suffix>.png``.
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from sentinel.review.local_server import SENTINEL, review_served

CHROMIUM = "/usr/bin/chromium"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--as-of", required=True, help="the ledger's day, YYYY-MM-DD")
    parser.add_argument("--month", required=True, help="the dashboard's month, YYYY-MM")
    parser.add_argument("--dest", type=Path, required=True)
    parser.add_argument("--suffix", required=True)
    args = parser.parse_args()
    password = secrets.token_urlsafe(16)
    env = dict(os.environ, SENTINEL_REVIEW_PASSWORD=password)
    subprocess.run(
        [*SENTINEL, "users", "add", "screenshots", "--role", "reviewer", "--out", str(args.out)],
        env=env,
        check=True,
        capture_output=True,
    )
    with tempfile.TemporaryDirectory() as tmp, review_served(args.out, env, Path(tmp)) as url:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
            )
            page = browser.new_page(viewport={"width": 1360, "height": 900}, locale="zh-CN")
            page.goto(f"{url}/login")
            page.fill("#username", "screenshots")
            page.fill("#password", password)
            page.click("button[type=submit]")
            args.dest.mkdir(parents=True, exist_ok=True)
            page.goto(f"{url}/recovery?as_of={args.as_of}")
            page.screenshot(path=str(args.dest / f"recovery-{args.suffix}.png"), full_page=True)
            page.goto(f"{url}/dashboard?month={args.month}")
            page.screenshot(path=str(args.dest / f"dashboard-{args.suffix}.png"), full_page=True)
            browser.close()


if __name__ == "__main__":
    main()
