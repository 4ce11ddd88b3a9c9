"""GET /health/deep with moto and the fake LLM: each part of a turn is probed without a token, a broken
part is named (never with error text), one working provider is enough, and probes run at most once per
half-minute per container however often it is called."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from botocore.exceptions import ClientError

from lambda_src.chat import dependencies as deps_module
from lambda_src.chat.deep_health import DEEP_HEALTH_CACHE_SECONDS, DeepHealth, bedrock_check
from tests.unit.conftest import LLM_API_KEY, ChatEnv, invoke, rest_event


@pytest.fixture(autouse=True)
def fresh_probes() -> Iterator[None]:
    deps_module.deep_health.cache_clear()
    yield
    deps_module.deep_health.cache_clear()


def _deep(api_key_id: str | None = "apikeyid-client-a") -> tuple[int, dict]:
    answer = invoke(rest_event("GET", "/health/deep", api_key_id=api_key_id))
    return answer.status, answer.body


def test_a_working_stage_is_healthy_and_no_token_is_spent(chat_env: ChatEnv) -> None:
    status, body = _deep()

    assert status == 200
    assert body == {
        "status": "ok",
        "table": "ok",
        "secret": "ok",
        "providers": {"primary": "ok"},
        "turns": "admitted",
    }
    (probe,) = chat_env.fake_llm.requests
    assert probe.path.endswith("/models")  # not a completion: no token
    assert probe.headers["Authorization"] == f"Bearer {LLM_API_KEY}"


def test_a_rejected_key_is_named_and_makes_the_stage_unhealthy(chat_env: ChatEnv) -> None:
    chat_env.fake_llm.answer(mode="status", status=401)

    status, body = _deep()

    assert status == 503
    assert body["providers"] == {"primary": "rejected"}
    assert body["status"] == "unhealthy"
    assert LLM_API_KEY not in str(body)


def test_an_unreadable_table_is_named(chat_env: ChatEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TABLE_NAME", "no-such-table")
    deps_module.dependencies.cache_clear()

    status, body = _deep()

    assert status == 503
    assert body["table"] == "unavailable"
    assert body["providers"] == {"primary": "ok"}


def test_it_needs_a_key_or_a_signed_in_user(chat_env: ChatEnv) -> None:
    status, _ = _deep(api_key_id=None)

    assert status == 403
    assert chat_env.fake_llm.requests == []


def test_probes_run_once_per_half_minute_however_often_it_is_called() -> None:
    calls = []
    now = [0.0]

    def probe() -> str:
        calls.append(1)
        return "ok"

    health = DeepHealth(
        table=probe, secret=None, providers={"p": probe}, turns_paused=lambda: True, clock=lambda: now[0]
    )
    for _ in range(20):
        assert health.report() == (200, health.report()[1])
    assert len(calls) == 2
    assert health.report()[1]["turns"] == "paused"  # reported, not a failure
    now[0] += DEEP_HEALTH_CACHE_SECONDS
    health.report()
    assert len(calls) == 4


def test_one_working_provider_of_two_is_enough() -> None:
    def down() -> str:
        raise TimeoutError

    health = DeepHealth(
        table=lambda: "ok", secret=None, providers={"a": down, "b": lambda: "ok"}, turns_paused=lambda: False
    )

    status, body = health.report()

    assert status == 200
    assert body["providers"] == {"a": "unavailable", "b": "ok"}


class BedrockRuntime:
    def __init__(self, code: str) -> None:
        self.code = code
        self.asked: list[dict] = []

    def converse(self, **request: object) -> None:
        self.asked.append(dict(request))
        raise ClientError({"Error": {"Code": self.code, "Message": "details never shown"}}, "Converse")


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("ValidationException", "ok"),
        ("AccessDeniedException", "rejected"),
        ("ThrottlingException", "unavailable"),
    ],
)
def test_bedrock_is_probed_with_an_empty_request_it_refuses_only_after_authorizing(
    code: str, expected: str
) -> None:
    client = BedrockRuntime(code)

    assert bedrock_check("amazon.nova-lite-v1:0", client)() == expected
    assert client.asked == [{"modelId": "amazon.nova-lite-v1:0", "messages": []}]


def test_the_table_probe_reads_a_key_nothing_writes(chat_env: ChatEnv) -> None:
    _deep()

    assert chat_env.all_items() == []  # nothing written by the probe


def test_bedrock_refusing_the_model_itself_is_a_failure() -> None:
    class InvalidModel(BedrockRuntime):
        def converse(self, **request: object) -> None:
            message = "The provided model identifier is invalid."
            raise ClientError({"Error": {"Code": "ValidationException", "Message": message}}, "Converse")

    assert bedrock_check("amazon.nova-nope", InvalidModel("ValidationException"))() == "unavailable"


@pytest.mark.parametrize("status", [404, 429])
def test_a_wrong_base_url_or_a_used_up_quota_is_not_ok(chat_env: ChatEnv, status: int) -> None:
    chat_env.fake_llm.answer(mode="status", status=status)

    code, body = _deep()

    assert code == 503
    assert body["providers"] == {"primary": "unavailable"}


def test_a_provider_turned_off_is_neither_probed_nor_counted() -> None:
    probed: list[str] = []

    def check(name: str) -> Callable[[], str]:
        def probe() -> str:
            probed.append(name)
            return "ok"

        return probe

    health = DeepHealth(
        table=lambda: "ok",
        secret=None,
        providers={"a": check("a"), "b": check("b")},
        turns_paused=lambda: False,
        disabled=lambda: {"a"},
    )

    assert health.report()[1]["providers"] == {"a": "disabled", "b": "ok"}
    assert probed == ["b"]
    only_off = DeepHealth(
        table=lambda: "ok",
        secret=None,
        providers={"a": check("a")},
        turns_paused=lambda: False,
        disabled=lambda: {"a"},
    )
    assert only_off.report()[0] == 503
