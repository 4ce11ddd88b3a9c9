"""The chat page in a real headless Chromium against `make dev`'s server: send, read the reply, and
see the quota message when the session cap is reached. Screenshots land in test-artifacts/."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO_ROOT / "test-artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
API_KEY = "browser-test-key"
SESSION_CAP = 2
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

if CHROMIUM is None:
    if os.environ.get("CI"):
        pytest.fail("chromium is required in CI (.ci/run installs Debian's chromium)", pytrace=False)
    pytest.skip(
        "no chromium on this machine: `apt-get install chromium` to run the browser test",
        allow_module_level=True,
    )

from playwright.sync_api import ConsoleMessage, Page, expect, sync_playwright  # noqa: E402

CONSOLE_ERRORS: list[str] = []


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start(*extra: str) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [
            sys.executable,
            "-m",
            "scripts.dev_server",
            "--port",
            str(port),
            "--api-key",
            API_KEY,
            "--session-requests",
            str(SESSION_CAP),
            *extra,
        ],
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return process, f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def dev_server() -> Iterator[str]:
    process, base = _start()
    yield from _serve(process, base)


@pytest.fixture(scope="module")
def dev_server_with_sign_in() -> Iterator[str]:
    process, base = _start("--fake-sign-in")
    yield from _serve(process, base)


def _serve(process: subprocess.Popen[bytes], base: str) -> Iterator[str]:
    try:
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"{base}/api/health", timeout=1) as response:  # noqa: S310 - loopback
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("the dev server did not start")
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def page(dev_server: str) -> Iterator[Page]:
    yield from _browse(dev_server)


@pytest.fixture
def page_with_sign_in(dev_server_with_sign_in: str) -> Iterator[Page]:
    yield from _browse(dev_server_with_sign_in)


def _browse(base: str) -> Iterator[Page]:
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1000, "height": 760})
        page = context.new_page()
        CONSOLE_ERRORS.clear()

        def record(message: ConsoleMessage) -> None:
            if message.type == "error":
                CONSOLE_ERRORS.append(message.text)

        page.on("console", record)
        page.goto(base)
        yield page
        browser.close()


def _send(page: Page, text: str) -> None:
    page.get_by_label("Your message").fill(text)
    page.get_by_label("Your message").press("Enter")


def test_a_message_gets_a_reply_and_the_quota_message_shows_when_the_cap_is_reached(page: Page) -> None:
    page.get_by_label("API key").fill(API_KEY)

    _send(page, "Hello from the browser test")
    replies = page.locator(".message--assistant")
    expect(replies).to_have_count(1)
    expect(replies.first).to_contain_text("You said 27 characters.")
    expect(page.get_by_label("Your message")).to_be_focused()

    _send(page, "<img src=x onerror=alert(1)> is shown as text")
    expect(replies).to_have_count(2)
    expect(page.locator(".message--user").nth(1)).to_have_text(
        "You: <img src=x onerror=alert(1)> is shown as text"
    )
    assert page.locator(".messages img").count() == 0
    page.screenshot(path=str(ARTIFACTS / "chat-page.png"), full_page=True)

    _send(page, "one more than the session allows")
    alert = page.get_by_role("alert")
    expect(alert).to_be_visible()
    expect(alert).to_contain_text("Too many requests. Please try again in about")
    expect(replies).to_have_count(2)
    page.screenshot(path=str(ARTIFACTS / "chat-page-429.png"), full_page=True)
    # Nothing the page needs is blocked by the CSP or missing (the refused 429 fetch is expected).
    errors = [e for e in CONSOLE_ERRORS if "429" not in e]
    assert errors == []


def test_a_wrong_api_key_is_explained(page: Page) -> None:
    page.get_by_label("API key").fill("not-the-key")
    _send(page, "hello")
    expect(page.get_by_role("alert")).to_contain_text("check the API key")


def test_the_page_works_on_a_phone_sized_screen(page: Page) -> None:
    page.set_viewport_size({"width": 375, "height": 700})
    page.get_by_label("API key").fill(API_KEY)
    _send(page, "small screen")
    expect(page.locator(".message--assistant")).to_have_count(1)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=str(ARTIFACTS / "chat-page-phone.png"), full_page=True)


def test_people_sign_in_with_pkce_and_chat_as_themselves(page_with_sign_in: Page) -> None:
    page = page_with_sign_in
    expect(page.get_by_label("API key")).to_be_hidden()
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_text("Signed in as person@example.com")).to_be_visible()
    _send(page, "hello as a person")
    expect(page.locator(".message--assistant")).to_have_count(1)
    page.screenshot(path=str(ARTIFACTS / "chat-page-signed-in.png"), full_page=True)

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
