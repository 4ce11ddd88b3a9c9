"""How the page handles a turn: one message at a time, each reply under its own question, a refused or
failed message kept for a retry, the conversation back after a reload, a wrong key shown where it is
typed, and message length counted as the API counts it."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, Route, expect

from scripts.fake_llm_server import FakeLlm
from tests.browser.conftest import API_KEY, answered, send, with_key

# Starts a browser, a server or a tool in a process of its own: make test-e2e runs it.
pytestmark = pytest.mark.e2e


def _conversation(page: Page) -> list[str]:
    """The log as a screen reader reads it, in order."""
    return [text.strip() for text in page.locator(".messages .message").all_text_contents()]


def test_enter_while_a_reply_is_pending_sends_nothing_more(page: Page, llm: FakeLlm) -> None:
    with_key(page)
    llm.answer(mode="slow", delay=1.5)
    send(page, "only once")
    box = page.get_by_label("Your message")
    for _ in range(3):
        box.press("Enter")
    page.get_by_role("button", name="Send").click(force=True)

    answered(page, 1)
    assert len(llm.requests) == 1
    assert _conversation(page) == ["You: only once", "Assistant: You said 9 characters."]


def test_each_reply_sits_under_its_own_question(page: Page) -> None:
    with_key(page)
    send(page, "first question")
    answered(page, 1)
    page.route("**/api/chat/stream", lambda route: route.abort("internetdisconnected"))
    send(page, "lost on the way")
    expect(page.get_by_role("alert")).to_be_visible()
    page.unroute("**/api/chat/stream")
    send(page, "a second, longer question")
    answered(page, 2)
    assert _conversation(page) == [
        "You: first question",
        "Assistant: You said 14 characters.",
        "You: a second, longer question",
        "Assistant: You said 25 characters.",
    ]


def test_a_refused_message_is_not_shown_as_sent_and_stays_in_the_box_to_retry(
    page: Page, llm: FakeLlm
) -> None:
    with_key(page, "not-the-key")
    send(page, "keep this text")

    expect(page.get_by_role("alert")).to_contain_text("check the API key")
    expect(page.locator(".message")).to_have_count(0)
    expect(page.get_by_label("Your message")).to_have_value("keep this text")
    assert llm.requests == []

    with_key(page)
    page.get_by_role("button", name="Retry").click()
    answered(page, 1)
    assert _conversation(page) == ["You: keep this text", "Assistant: You said 14 characters."]
    expect(page.get_by_role("alert")).to_be_hidden()
    expect(page.get_by_label("Your message")).to_have_value("")


def test_a_message_lost_to_the_network_is_not_shown_as_sent_and_can_be_retried(page: Page) -> None:
    with_key(page)

    def unreachable(route: Route) -> None:
        route.abort("internetdisconnected")

    page.route("**/api/chat/stream", unreachable)
    send(page, "through a tunnel")
    expect(page.get_by_role("alert")).to_contain_text("The network is unreachable")
    expect(page.locator(".message")).to_have_count(0)
    expect(page.get_by_label("Your message")).to_have_value("through a tunnel")

    page.unroute("**/api/chat/stream", unreachable)
    page.get_by_role("button", name="Retry").click()
    answered(page, 1)
    assert _conversation(page)[0] == "You: through a tunnel"


def test_after_a_reload_the_conversation_comes_back_and_new_conversation_starts_another(page: Page) -> None:
    with_key(page)
    send(page, "remember me")
    answered(page, 1)

    page.reload()
    expect(page.locator(".message")).to_have_count(2)
    assert _conversation(page) == ["You: remember me", "Assistant: You said 11 characters."]

    page.get_by_role("button", name="New conversation").click()
    expect(page.locator(".message")).to_have_count(0)
    send(page, "a fresh start")
    answered(page, 1)
    page.reload()
    expect(page.locator(".message")).to_have_count(2)
    assert _conversation(page)[0] == "You: a fresh start"


def test_a_wrong_key_brings_the_key_field_into_view(page: Page) -> None:
    page.set_viewport_size({"width": 375, "height": 420})
    with_key(page)
    for number in range(3):
        send(page, f"a message to fill the screen, number {number}")
        answered(page, number + 1)
    with_key(page, "a-key-that-was-revoked")
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    key = page.get_by_label("API key")
    expect(key).not_to_be_in_viewport()

    send(page, "refused")

    expect(page.get_by_role("alert")).to_contain_text("check the API key")
    expect(key).to_be_in_viewport()
    expect(key).to_be_focused()
    expect(key).to_have_attribute("aria-invalid", "true")


def test_the_page_counts_length_as_the_api_does(page: Page, llm: FakeLlm) -> None:
    with_key(page)
    box = page.get_by_label("Your message")
    family = (
        "\U0001f468\u200d\U0001f469\u200d\U0001f467"  # one emoji on screen, 5 code points, 8 UTF-16 units
    )
    box.fill(family * 200)  # 1000 code points: the limit
    expect(page.locator("#count")).to_have_text("1000 / 1000")
    box.press("Enter")
    expect(page.locator(".message--assistant")).to_contain_text("You said 1000 characters.")

    box.fill("\u0007" + "a" * 1000)  # the bell is removed before counting, as the API removes it
    expect(page.locator("#count")).to_have_text("1000 / 1000")

    box.fill(family * 200 + "!")
    expect(page.locator("#count")).to_have_text("1001 / 1000")
    requests = len(llm.requests)
    box.press("Enter")
    expect(page.get_by_role("alert")).to_contain_text("1001 characters long; the limit is 1000")
    assert len(llm.requests) == requests
    expect(box).to_have_value(family * 200 + "!")


def test_an_api_key_typed_after_the_reload_brings_the_conversation_back(page: Page) -> None:
    with_key(page)
    send(page, "before the tab forgot the key")
    answered(page, 1)
    page.evaluate("sessionStorage.removeItem('chat.apiKey')")
    page.reload()
    expect(page.locator(".message")).to_have_count(0)

    with_key(page, API_KEY)
    expect(page.locator(".message")).to_have_count(2)


def test_enter_in_the_key_field_never_puts_the_key_in_the_address(page: Page) -> None:
    page.get_by_label("API key").fill("a-secret-key-value")
    page.get_by_label("API key").press("Enter")
    page.wait_for_timeout(300)  # a navigation, if there were one, would have started
    assert "a-secret-key-value" not in page.url
    expect(page.get_by_label("API key")).to_have_value("a-secret-key-value")


def test_a_lone_surrogate_is_left_out_of_what_is_sent_as_the_api_would_refuse_it(page: Page) -> None:
    with_key(page)
    page.evaluate("document.getElementById('message').value = 'a\\uD800b'")
    page.get_by_label("Your message").press("Enter")
    expect(page.locator(".message--assistant")).to_contain_text("You said 2 characters.")
