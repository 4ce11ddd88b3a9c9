"""Thumbs on each reply: a thumb given is stored through the feedback route and shows pressed after a
reload; thumbs down then takes an optional category and comment; feedback that is not saved is explained
and leaves the thumbs as they were."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, Route, expect

from tests.browser.conftest import API_KEY, CONSOLE_ERRORS, answered, send, with_key

# Starts a browser, a server or a tool in a process of its own: make test-e2e runs it.
pytestmark = pytest.mark.e2e


def _stored_replies(page: Page) -> list[dict[str, Any]]:
    """The tab's conversation as the API holds it: its replies, with the feedback given on each."""
    session = page.evaluate("sessionStorage.getItem('chat.sessionId')")
    url = f"{page.url.rstrip('/')}/api/conversations/{session}"
    answer = page.request.get(url, headers={"x-api-key": API_KEY})
    assert answer.ok
    return [m for m in answer.json()["messages"] if m["role"] == "assistant"]


def _thumb(page: Page, reply: int, label: str) -> Any:
    return page.locator(".message--assistant").nth(reply).get_by_role("button", name=label)


def test_thumbs_are_stored_shown_after_a_reload_and_thumbs_down_takes_a_reason(page: Page) -> None:
    with_key(page)
    send(page, "First question")
    answered(page, 1)
    send(page, "Second question")
    answered(page, 2)

    _thumb(page, 0, "Good reply").click()
    expect(_thumb(page, 0, "Good reply")).to_have_attribute("aria-pressed", "true")
    expect(_thumb(page, 0, "Bad reply")).to_have_attribute("aria-pressed", "false")
    expect(page.locator(".feedback__why")).to_have_count(0)  # a thumbs up asks nothing more

    _thumb(page, 1, "Bad reply").click()
    expect(_thumb(page, 1, "Bad reply")).to_have_attribute("aria-pressed", "true")
    second = page.locator(".message--assistant").nth(1)
    second.get_by_label("What went wrong").select_option("too_long")
    second.get_by_label("Comment on this reply").fill("Half as long, please.")
    second.get_by_role("button", name="Send feedback").click()
    expect(second.get_by_role("status")).to_contain_text("Thank you")

    stored = _stored_replies(page)
    assert stored[0]["feedback"]["rating"] == "up"
    assert {k: stored[1]["feedback"].get(k) for k in ("rating", "category", "comment")} == {
        "rating": "down",
        "category": "too_long",
        "comment": "Half as long, please.",
    }

    page.reload()
    with_key(page)
    answered(page, 2)
    expect(_thumb(page, 0, "Good reply")).to_have_attribute("aria-pressed", "true")
    expect(_thumb(page, 1, "Bad reply")).to_have_attribute("aria-pressed", "true")
    expect(_thumb(page, 1, "Good reply")).to_have_attribute("aria-pressed", "false")

    _thumb(page, 1, "Good reply").click()  # changed: the vote moves
    expect(_thumb(page, 1, "Good reply")).to_have_attribute("aria-pressed", "true")
    expect(_thumb(page, 1, "Bad reply")).to_have_attribute("aria-pressed", "false")
    assert _stored_replies(page)[1]["feedback"]["rating"] == "up"
    assert CONSOLE_ERRORS == []


def test_feedback_that_is_not_saved_is_explained_and_changes_no_thumb(page: Page) -> None:
    with_key(page)
    send(page, "A question")
    answered(page, 1)

    def unavailable(route: Route) -> None:
        route.fulfill(status=503, headers={"Retry-After": "5"}, json={"message": "unavailable"})

    page.route("**/feedback", unavailable)
    _thumb(page, 0, "Bad reply").click()

    expect(page.get_by_role("alert")).to_contain_text(
        "Your feedback was not saved: please try again in 5 seconds."
    )
    expect(_thumb(page, 0, "Bad reply")).to_have_attribute("aria-pressed", "false")
    expect(page.locator(".feedback__why")).to_have_count(0)
    assert "feedback" not in _stored_replies(page)[0]
