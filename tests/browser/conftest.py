"""The e2e stack (gunicorn, worker, beat on a scratch database) and a page of Debian's Chromium
driven by Playwright. Playwright's own browser download doesn't work here: `make test` installs
/usr/bin/chromium with apt-get (or says why not), and these tests skip without it."""

import os
import sys
from pathlib import Path

import pytest

from tests.e2e import conftest as e2e
from tests.e2e.stack import drop_database, make_database

# The e2e `stack` fixture, reused here: a fresh stack per test on a copy of a migrated template.
stack = e2e.stack


@pytest.fixture(scope="session")
def e2e_template():
    """The template `stack` copies, under a name of our own: tests/e2e's fixture of the same name
    is another instance in the same session and drops and remakes its name when it starts."""
    name = f"zea_browser_template_{os.getpid()}"
    make_database(name, {k: v for k, v in os.environ.items() if k != "DATABASE_URL"})
    yield name
    drop_database(name)


CHROMIUM = Path(os.environ.get("ZEA_CHROMIUM", "/usr/bin/chromium"))
# Headless, and nothing that reaches for Google's hosts: this machine's network is closed.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_missing() -> str | None:
    """Why the browser tests can't run, or None."""
    if CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK):
        try:
            import playwright  # noqa: F401
        except ImportError:
            return "the Python package playwright is not installed (pip install -r requirements-dev.txt)"
        return None
    note = Path(sys.prefix) / ".chromium-missing"  # written by `make browser` when apt-get couldn't install it
    if note.is_file():
        return note.read_text().strip()
    return f"{CHROMIUM} is missing: install Debian's chromium (`make browser` does it as root)"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def chromium():
    why = chromium_missing()
    if why:
        pytest.skip(why)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(request, chromium, stack):
    """A fresh browser context on the stack; a screenshot and the HTML into the stack's log dir on failure."""
    context = chromium.new_context(base_url=stack.base, locale="en-US", viewport={"width": 1280, "height": 1000})
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    report = getattr(request.node, "report_call", None)
    if report is None or report.failed:
        shot = stack.logdir / "browser-failure.png"
        try:
            page.screenshot(path=str(shot), full_page=True)
            (stack.logdir / "browser-failure.html").write_text(page.content())
            print(f"\nbrowser screenshot at failure: {shot} (page URL {page.url})")
        except Exception as exc:  # noqa: BLE001  a dead page must not hide the test's own failure
            print(f"\nno screenshot: {exc}")
    context.close()
