"""Hypothesis over request bodies and headers: whatever arrives, never a 5xx, never an unhandled error."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.conftest import ChatEnv, invoke, rest_event

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=10,
)
chat_like = st.fixed_dictionaries(
    {},
    optional={
        "sessionId": st.one_of(st.from_regex(r"[A-Za-z0-9_-]{8,20}", fullmatch=True), st.text(max_size=40)),
        "message": st.one_of(st.text(min_size=0, max_size=1100), json_values),
        "extra": json_values,
    },
)
bodies = st.one_of(
    chat_like.map(json.dumps),
    json_values.map(json.dumps),
    st.text(max_size=200),
    st.binary(max_size=100).map(lambda b: b.decode("latin-1")),
    st.none(),
)
header_names = st.sampled_from(["Idempotency-Key", "idempotency-key", "Content-Type", "X-Anything", "Accept"])
headers = st.dictionaries(header_names, st.text(max_size=140), max_size=3)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=bodies, extra_headers=headers)
def test_any_body_and_headers_get_a_deliberate_answer(
    chat_env: ChatEnv, body: str | None, extra_headers: dict[str, Any]
) -> None:
    answer = invoke(rest_event("POST", "/chat", raw_body=body, headers=extra_headers))

    assert answer.status in (200, 400, 409, 422, 429), answer.body
    assert isinstance(answer.body.get("message", answer.body.get("reply")), str)
