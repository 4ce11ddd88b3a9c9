"""The saved Logs Insights queries (stacks/constructs/saved_queries.py) read fields the handlers and the
API's access log really write: a renamed log field would leave a query silently empty."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

# The operator scripts and the saved queries read stacks/ (aws-cdk-lib): make test runs these; the
# runtime venv of make test-runtime holds the handler's dependencies only.
pytest.importorskip("aws_cdk")
from stacks.constructs.chat_api import ACCESS_LOG_FIELDS
from stacks.constructs.saved_queries import FEEDBACK_GIVEN, TURN_ANSWERED, query_strings
from tests.unit.conftest import ChatEnv, chat, invoke, rest_event, work_queued_jobs

# Insights commands, keywords and functions, and the aliases the queries define: not log fields.
KEYWORDS = {"fields", "filter", "stats", "sort", "limit", "as", "by", "desc", "asc", "like", "count", "sum"}
KEYWORDS |= {"datefloor", "d", "count_distinct", "or"}
ALIASES = {"day", "tokens", "input", "output", "turns", "refused", "answers", "jobs", "active", "feedback"}
ALIASES |= {"up", "down"}


def _fields(query: Any) -> set[str]:
    """The log fields a query names (its own aliases, functions and keywords left out)."""
    text = re.sub(r'"[^"]*"|/[^/]*/', "", query.to_string())  # string and regex literals
    words = set(re.findall(r"@?[A-Za-z_]\w*", text)) - KEYWORDS - ALIASES
    return {w for w in words if not w.startswith("@")}


def test_turn_queries_read_fields_of_the_answered_turn_log_line(
    chat_env: ChatEnv, log_lines: Callable[[], list[dict[str, Any]]]
) -> None:
    assert chat("session-0001", "hello").status == 200
    (answered,) = [line for line in log_lines() if line.get("message") == "chat turn answered"]
    assert f'message = "{answered["message"]}"' == TURN_ANSWERED

    for name, (reads, query) in query_strings().items():
        if reads == "turns":
            assert _fields(query) <= set(answered), name


def test_usage_and_feedback_queries_read_fields_of_the_turn_and_feedback_log_lines(
    chat_env: ChatEnv, log_lines: Callable[[], list[dict[str, Any]]]
) -> None:
    answer = chat("session-0001", "hello")
    feedback = f"/conversations/session-0001/messages/{answer.body['messageId']}/feedback"
    given_body = {"rating": "down", "category": "unhelpful"}
    assert invoke(rest_event("POST", feedback, body=given_body)).status == 200
    lines = log_lines()
    (answered,) = [line for line in lines if line.get("message") == "chat turn answered"]
    (given,) = [line for line in lines if line.get("message") == "feedback given"]
    assert f'message = "{given["message"]}"' == FEEDBACK_GIVEN
    assert (answered["caller"], answered["tier"]) == ("program", "free")  # the test stage's default tier
    assert (given["votes_up"], given["votes_down"], given["category"]) == (0, 1, "unhelpful")

    for name in ("daily-active-clients", "turns-and-tokens-by-tier"):
        (reads, query) = query_strings()[name]
        assert reads == "turns", name
        assert {"caller", "tier"} & _fields(query), name
    feedback_queries = [query for reads, query in query_strings().values() if reads == "feedback"]
    assert len(feedback_queries) == 2
    for query in feedback_queries:
        assert _fields(query) <= set(answered) | set(given)


def test_the_failed_jobs_query_reads_fields_of_the_workers_failure_lines(
    chat_env: ChatEnv, log_lines: Callable[[], list[dict[str, Any]]]
) -> None:
    chat_env.fake_llm.answer(mode="malformed")  # a reply no retry can mend: the job fails for good
    queued = invoke(rest_event("POST", "/chat/jobs", body={"sessionId": "session-0001", "message": "hi"}))
    assert queued.status == 202
    work_queued_jobs()

    (failed,) = [line for line in log_lines() if line.get("message") == "job failed"]
    (_, query) = query_strings()["failed-jobs"]
    assert _fields(query) <= set(failed)
    assert re.search(r"^job (failed|message unreadable)", failed["message"])


def test_access_log_queries_read_fields_of_the_access_log() -> None:
    for name, (reads, query) in query_strings().items():
        if reads == "access":
            assert _fields(query) <= set(ACCESS_LOG_FIELDS), name
