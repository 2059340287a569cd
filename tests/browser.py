"""Shared by the browser tests: find Debian's Chromium, or skip (or fail under CI) with the way to install it."""

import contextlib
import os
import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import handout  # noqa: E402

SCREENSHOTS = ROOT / "handout" / "screenshots"  # git-ignored; look at them after a run


def chromium():
    if pathlib.Path(handout.CHROMIUM).exists():
        return handout.CHROMIUM
    message = f"no Chromium at {handout.CHROMIUM}: install it with `apt-get install chromium` (Debian/Ubuntu), or set CHROMIUM"
    if os.environ.get("CI"):
        pytest.fail("CI is set but " + message)
    pytest.skip(message)


@contextlib.contextmanager
def chromium_browser():
    """A headless Chromium (skips or fails as ``chromium`` says when there is none), closed afterwards."""
    path = chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=path, args=handout.CHROMIUM_ARGS)
        yield instance
        instance.close()
