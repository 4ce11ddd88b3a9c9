"""The chat page in a real headless Chromium against `make dev`'s server: send, read the reply, the
quota message when the session cap is reached, a phone-sized screen, and sign-in with PKCE."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import ARTIFACTS, CONSOLE_ERRORS, SESSION_CAP, answered, send, with_key

# Starts a browser, a server or a tool in a process of its own: make test-e2e runs it.
pytestmark = pytest.mark.e2e


def test_a_message_gets_a_reply_and_the_quota_message_shows_when_the_cap_is_reached(page: Page) -> None:
    with_key(page)

    send(page, "Hello from the browser test")
    replies = page.locator(".message--assistant")
    answered(page, 1)
    expect(replies.first).to_contain_text("You said 27 characters.")
    expect(page.get_by_label("Your message")).to_be_focused()
    expect(page.get_by_label("Your message")).to_have_value("")

    send(page, "<img src=x onerror=alert(1)> is shown as text")
    answered(page, 2)
    expect(page.locator(".message--user").nth(1)).to_have_text(
        "You: <img src=x onerror=alert(1)> is shown as text"
    )
    assert page.locator(".messages img").count() == 0
    page.screenshot(path=str(ARTIFACTS / "chat-page.png"), full_page=True)

    for number in range(2, SESSION_CAP):
        send(page, f"message {number + 1}")
        answered(page, number + 1)
    send(page, "one more than the session allows")
    alert = page.get_by_role("alert")
    expect(alert).to_be_visible()
    expect(alert).to_contain_text("Too many requests. Please try again in about")
    answered(page, SESSION_CAP)
    page.screenshot(path=str(ARTIFACTS / "chat-page-429.png"), full_page=True)
    # Nothing the page needs is blocked by the CSP or missing (the refused 429 fetch is expected).
    errors = [e for e in CONSOLE_ERRORS if "429" not in e]
    assert errors == []


def test_the_page_works_on_a_phone_sized_screen(page: Page) -> None:
    page.set_viewport_size({"width": 375, "height": 700})
    with_key(page)
    send(page, "small screen")
    answered(page, 1)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=str(ARTIFACTS / "chat-page-phone.png"), full_page=True)


def test_people_sign_in_with_pkce_and_chat_as_themselves(page_with_sign_in: Page) -> None:
    page = page_with_sign_in
    expect(page.get_by_label("API key")).to_be_hidden()
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_text("Signed in as person@example.com")).to_be_visible()
    send(page, "hello as a person")
    answered(page, 1)
    page.screenshot(path=str(ARTIFACTS / "chat-page-signed-in.png"), full_page=True)

    page.reload()  # the signed-in person's conversation comes back from /api/web/conversations/{id}
    expect(page.locator(".message")).to_have_count(2)

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
