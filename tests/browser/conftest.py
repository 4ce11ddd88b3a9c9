"""The chat page in a real headless Chromium against `make dev`'s server, with a fake LLM the tests
control. Screenshots land in test-artifacts/."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect, sync_playwright

from scripts.fake_llm_server import FakeLlm
from tests.dev_process import REPO_ROOT, dev_server

ARTIFACTS = REPO_ROOT / "test-artifacts"
# CHROMIUM_PATH names another Chromium-based browser (the GitHub runner's Chrome).
CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")
API_KEY = "browser-test-key"
SESSION_CAP = 4
# As the workplace's own probe starts it: no background traffic to hosts this closed network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def llm() -> Iterator[FakeLlm]:
    fake = FakeLlm().start()
    yield fake
    fake.stop()


@pytest.fixture(autouse=True)
def _fresh_llm(llm: FakeLlm) -> None:
    llm.reset()


def _arguments(llm: FakeLlm, *extra: str) -> list[str]:
    return ["--api-key", API_KEY, "--session-requests", str(SESSION_CAP), "--llm-url", llm.base_url, *extra]


@pytest.fixture(scope="session")
def server(llm: FakeLlm) -> Iterator[str]:
    with dev_server(*_arguments(llm)) as base:
        yield base


@pytest.fixture(scope="session")
def server_with_sign_in(llm: FakeLlm) -> Iterator[str]:
    with dev_server(*_arguments(llm, "--fake-sign-in")) as base:
        yield base


@pytest.fixture(scope="session")
def chromium() -> str:
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is required in CI (.ci/run installs Debian's chromium)", pytrace=False)
        pytest.skip("no chromium on this machine: `apt-get install chromium` to run the browser tests")
    return CHROMIUM


CONSOLE_ERRORS: list[str] = []


@pytest.fixture(scope="session")
def browser(chromium: str) -> Iterator[Browser]:
    """One Chromium for the session (starting one takes about a second); each test gets a context of its
    own, with its own storage, as a fresh profile would."""
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def _browse(browser: Browser, base: str) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1000, "height": 760})
    page = context.new_page()
    CONSOLE_ERRORS.clear()

    def record(message: ConsoleMessage) -> None:
        if message.type == "error":
            CONSOLE_ERRORS.append(message.text)

    page.on("console", record)
    page.goto(base)
    yield page
    context.close()


@pytest.fixture
def page(browser: Browser, server: str) -> Iterator[Page]:
    yield from _browse(browser, server)


@pytest.fixture
def page_with_sign_in(browser: Browser, server_with_sign_in: str) -> Iterator[Page]:
    yield from _browse(browser, server_with_sign_in)


def send(page: Page, text: str) -> None:
    page.get_by_label("Your message").fill(text)
    page.get_by_label("Your message").press("Enter")


def answered(page: Page, replies: int) -> None:
    """``replies`` replies on screen, the last one whole: the page is no longer busy with it (a reply
    streams in, so its element is there before its last word)."""
    expect(page.locator(".message--assistant")).to_have_count(replies)
    expect(page.get_by_label("Your message")).to_have_attribute("aria-busy", "false")


def with_key(page: Page, key: str = API_KEY) -> Page:
    page.get_by_label("API key").fill(key)
    page.get_by_label("API key").dispatch_event("change")
    return page
