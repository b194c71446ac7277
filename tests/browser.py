"""Headless Chromium for the tests that look at what people see (the report, the rendered notebooks).

Debian's Chromium driven by Playwright; a page's full screenshot is kept under ``build/screenshots/`` (git-ignored)
for people to look at. Without the browser a test skips, and fails under CI (``CI=true``).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[1] / "build" / "screenshots"
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def browser_or_skip() -> Any:
    """Playwright's sync API when Debian's Chromium is installed; under CI a missing browser fails."""
    missing = []
    if not (Path(CHROMIUM).exists() and shutil.which(CHROMIUM)):
        missing.append(f"{CHROMIUM} (scripts/install_chromium.sh)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing.append("the playwright package (dev extra)")
        sync_playwright = None
    if missing:
        msg = "headless browser test needs " + " and ".join(missing)
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(msg)
        pytest.skip(msg + " (set CI=true to make this a failure)")
    return sync_playwright


@contextmanager
def chromium(profile: Path, *, width: int = 1200, offline: bool = False) -> Iterator[Any]:
    """A fresh headless Chromium context (its own user-data-dir ``profile``), closed on exit."""
    sync_playwright = browser_or_skip()
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(profile),
            executable_path=CHROMIUM,
            headless=True,
            args=LAUNCH_ARGS,
            viewport={"width": width, "height": 900},
            offline=offline,
        )
        try:
            yield context
        finally:
            context.close()


def screenshot(page: Any, name: str) -> Path:
    """The page's full screenshot as ``build/screenshots/<name>.png``; returns its path."""
    shot = ARTIFACTS / f"{name}.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shot), full_page=True)
    return shot
