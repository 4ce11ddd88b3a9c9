"""The page shows a reply as it is generated: the first words are on screen while the model is still
writing, Stop ends the reply (and the model call), a cut reply is marked incomplete with a retry."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Page, expect

from scripts.fake_llm_server import FakeLlm
from tests.browser.conftest import ARTIFACTS, send, with_key

# Starts a browser, a server or a tool in a process of its own: make test-e2e runs it.
pytestmark = pytest.mark.e2e

# The dev stage's guardrail releases a streamed reply in checked chunks, the first once 120 characters end
# at a sentence (README, "Guardrails"): a first sentence that long, then words the model is still writing.
FIRST_SENTENCE = (
    "The first words arrive long before the last ones do, one at a time, as the model writes them down "
    "for you to read right now."
)
REPLY = FIRST_SENTENCE + " " + " ".join(f"more{n}" for n in range(30))
WORDS_BEFORE_THE_REST = len(FIRST_SENTENCE.split()) + 1  # the chunk is released when the next word comes


def _wait_for(condition: object, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_the_first_words_are_on_screen_while_the_model_is_still_generating(page: Page, llm: FakeLlm) -> None:
    with_key(page)
    llm.answer(reply=REPLY, token_delay=0.1)  # 55 words: 5.5 s in all, the first chunk after 2.5 s
    send(page, "stream to me")

    reply = page.locator(".message--assistant")
    expect(reply).to_contain_text("The first words", timeout=5000)
    assert llm.requests[-1].stream_end is None  # still generating
    expect(page.get_by_role("status")).to_contain_text("writing")
    expect(reply).to_have_text("Assistant: " + REPLY, timeout=10_000)
    assert llm.requests[-1].stream_end == "complete"
    expect(page.get_by_role("button", name="Stop")).to_be_hidden()
    expect(page.get_by_label("Your message")).to_have_value("")


def test_model_text_is_shown_as_text_never_as_html(page: Page, llm: FakeLlm) -> None:
    with_key(page)
    llm.answer(reply='<img src=x onerror="document.title=1"> <b>bold</b>')
    send(page, "markup please")
    expect(page.locator(".message--assistant")).to_contain_text("<b>bold</b>")
    assert page.locator(".message--assistant img, .message--assistant b").count() == 0


def test_stop_ends_the_reply_and_the_model_call(page: Page, llm: FakeLlm) -> None:
    with_key(page)
    # A long reply: with the guardrail's chunks, the stream learns the page has gone when it next sends
    # (a chunk of about stream_chunk_chars, or a heartbeat), long before this reply would end.
    long_reply = (
        FIRST_SENTENCE + " " + " ".join(f"more{n}." if n % 10 == 9 else f"more{n}" for n in range(150))
    )
    llm.answer(reply=long_reply, token_delay=0.15)
    send(page, "stop me")
    expect(page.locator(".message--assistant")).to_contain_text("The", timeout=5000)
    page.get_by_role("button", name="Stop").click()

    expect(page.locator(".message--assistant")).to_contain_text("(stopped)")
    _wait_for(lambda: llm.requests[-1].stream_end is not None, seconds=20)
    assert llm.requests[-1].stream_end == "client_gone"  # stopped, 150 words short of its end
    expect(page.get_by_role("alert")).to_contain_text("You stopped this reply")
    expect(page.get_by_label("Your message")).to_have_value("stop me")
    expect(page.get_by_role("button", name="Send")).to_be_enabled()


def test_a_cut_reply_is_marked_incomplete_and_retry_answers_it_once(page: Page, llm: FakeLlm) -> None:
    with_key(page)
    llm.answer(reply=REPLY, fault="drop", fault_after=WORDS_BEFORE_THE_REST + 3)
    send(page, "cut me off")

    expect(page.locator(".message--assistant")).to_contain_text("(incomplete)")
    expect(page.locator(".message--assistant")).to_contain_text("The first words")
    expect(page.get_by_role("alert")).to_contain_text("cut off before it finished")
    page.screenshot(path=str(ARTIFACTS / "chat-page-incomplete.png"), full_page=True)

    llm.answer(reply="All of it this time.")
    page.get_by_role("button", name="Retry").click()
    expect(page.locator(".message--assistant")).to_have_text("Assistant: All of it this time.")
    assert [t.strip() for t in page.locator(".messages .message").all_text_contents()] == [
        "You: cut me off",
        "Assistant: All of it this time.",
    ]
    expect(page.get_by_role("alert")).to_be_hidden()
