"""The saved Logs Insights queries: one of each in every stage, named under chatbot/<stage>/, each on
the log groups that hold its fields."""

from __future__ import annotations

from tests.infra.conftest import CHAT_HANDLER, WORKER_HANDLER, SynthesizedStage, function_with_handler
from tests.infra.test_streaming import STREAM_HANDLER

EXPECTED = {"tokens-by-client", "top-429-clients", "slowest-turns", "errors-by-route", "failed-jobs"}
EXPECTED |= {"daily-active-clients", "turns-and-tokens-by-tier", "feedback-by-day", "thumbs-down-by-category"}


def _log_group_of(stage: SynthesizedStage, handler: str) -> dict[str, str]:
    _, function = function_with_handler(stage.service, handler)
    return {"Ref": function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]}


def test_every_stage_saves_the_queries_on_the_log_groups_that_hold_their_fields(
    stage: SynthesizedStage,
) -> None:
    definitions = {
        d["Properties"]["Name"]: d["Properties"]
        for d in stage.service.find_resources("AWS::Logs::QueryDefinition").values()
    }
    assert set(definitions) == {f"chatbot/{stage.config.name}/{name}" for name in EXPECTED}

    turns = [_log_group_of(stage, h) for h in (CHAT_HANDLER, STREAM_HANDLER, WORKER_HANDLER)]
    (access,) = [
        {"Ref": i}
        for i in stage.service.find_resources("AWS::Logs::LogGroup")
        if i.startswith("ApiAccessLogs")
    ]
    reads = {name.rsplit("/", 1)[1]: d["LogGroupNames"] for name, d in definitions.items()}
    assert reads == {
        "tokens-by-client": turns,
        "slowest-turns": turns,
        "top-429-clients": [access],
        "errors-by-route": [access],
        "failed-jobs": [_log_group_of(stage, WORKER_HANDLER)],
        "daily-active-clients": turns,
        "turns-and-tokens-by-tier": turns,
        "feedback-by-day": turns,
        "thumbs-down-by-category": turns,
    }
    prefix = f"chatbot/{stage.config.name}/"
    assert "status = 429" in definitions[prefix + "top-429-clients"]["QueryString"]
    assert (
        "by datefloor(@timestamp, 1d) as day, client"
        in definitions[prefix + "tokens-by-client"]["QueryString"]
    )
