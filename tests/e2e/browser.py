"""Shared by the browser tests: find Debian's Chromium, or skip (or fail under CI) with the way to install it."""

import contextlib
import os
import pathlib

import pytest

import handout  # tools/handout.py (pyproject.toml puts tools/ on the path)

ROOT = pathlib.Path(__file__).resolve().parents[2]

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


WAIT_SECONDS = 30  # a browser test that waits longer than this for one thing fails, saying what it waited for


def new_page(browser, **kwargs):
    """A page whose every wait gives up after WAIT_SECONDS."""
    page = browser.new_page(**kwargs)
    page.set_default_timeout(WAIT_SECONDS * 1000)
    return page


def wait_until(page, condition, what, arg=None, seconds=WAIT_SECONDS):
    """Wait for the JavaScript ``condition`` to hold; if it does not within ``seconds``, fail with ``what`` it waited
    for and a screenshot of the page as it was (handout/screenshots/timeout.png)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(condition, arg=arg, timeout=seconds * 1000)
    except PlaywrightTimeout:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "timeout.png"))
        pytest.fail(f"waited {seconds} s for {what}; the page as it was: {SCREENSHOTS / 'timeout.png'}", pytrace=False)
