"""The cost model reads what each stage's templates deploy: the chat function's memory, the web ACLs and
their rules, keys, secrets, alarms and dashboards; and prices from a dated table."""

from __future__ import annotations

import dataclasses

import pytest

from scripts.cost_model import (
    MeasuredTurn,
    canary_runs_per_month,
    fixed_per_month,
    llm_per_million_turns,
    load_prices,
    per_million_turns,
    report,
)
from tests.infra.conftest import SynthesizedStage

TURN = MeasuredTurn(read_units=6, write_units=18, log_bytes=1000)


def _templates(stage: SynthesizedStage) -> list:
    return list(stage.templates.values())


def _item(items: dict[str, float], prefix: str) -> float:
    (value,) = [usd for item, usd in items.items() if item.startswith(prefix)]
    return value


def test_the_price_table_says_when_and_where() -> None:
    prices = load_prices()
    assert prices["date"] == "2026-11-01"
    assert prices["region"] == "us-east-1"


def test_the_chat_functions_memory_from_the_template_prices_the_turns_duration(
    synthesized: dict[str, SynthesizedStage],
) -> None:
    prices = load_prices()
    dev, prod = (per_million_turns(_templates(synthesized[s]), TURN, prices) for s in ("dev", "prod"))

    compute = {
        name: _item(items, "Lambda") - prices["lambda"]["per_million_requests"]
        for name, items in (("dev", dev), ("prod", prod))
    }
    assert synthesized["dev"].config.lambda_memory_mb * 2 == synthesized["prod"].config.lambda_memory_mb
    assert compute["prod"] == pytest.approx(2 * compute["dev"])
    seconds = prices["turn"]["llm_seconds"] + prices["turn"]["handler_seconds"]
    assert compute["prod"] == pytest.approx(
        1_000_000 * 1.0 * seconds * prices["lambda"]["arm64_per_gb_second"]
    )


def test_every_request_passes_both_web_acls_and_dynamodb_is_priced_by_request_unit(
    stage: SynthesizedStage,
) -> None:
    prices = load_prices()
    items = per_million_turns(_templates(stage), TURN, prices)

    assert _item(items, "WAF requests (2 web ACLs)") == pytest.approx(
        2 * prices["waf"]["per_million_requests"]
    )
    assert _item(items, "DynamoDB") == pytest.approx(
        6 * prices["dynamodb"]["per_million_read_request_units"]
        + 18 * prices["dynamodb"]["per_million_write_request_units"]
    )
    assert all(usd > 0 for usd in items.values())


def test_fixed_costs_count_what_the_templates_hold(stage: SynthesizedStage) -> None:
    prices = load_prices()
    resources = [r for t in _templates(stage) for r in t["Resources"].values()]
    keys = sum(1 for r in resources if r["Type"] == "AWS::KMS::Key")

    fixed = fixed_per_month(_templates(stage), prices)

    assert _item(fixed, f"KMS keys ({keys})") == keys * prices["kms"]["key_per_month"]
    acls = [r for r in resources if r["Type"] == "AWS::WAFv2::WebACL"]
    rules = sum(len(acl["Properties"]["Rules"]) for acl in acls)
    assert _item(fixed, f"web ACLs ({len(acls)}) and their rules ({rules})") == pytest.approx(
        len(acls) * prices["waf"]["web_acl_per_month"] + rules * prices["waf"]["rule_per_month"]
    )
    assert (
        _item(fixed, "dashboards (2)") == 2 * prices["cloudwatch"]["dashboard_per_month"]
    )  # the stage's, the edge's


def test_the_report_prints_infrastructure_beside_the_llm_at_the_stages_prices(
    stage: SynthesizedStage,
) -> None:
    prices = load_prices()
    text = report(stage.config, _templates(stage), TURN, prices)

    assert "per 1 million turns (USD, prices of 2026-11-01, us-east-1)" in text
    assert "infrastructure per 1 million turns" in text
    assert "fixed a month" in text
    for provider in stage.config.llm.providers:
        assert provider.model in text
    dearer = dataclasses.replace(
        stage.config.llm, usd_per_1k_output_tokens=stage.config.llm.usd_per_1k_output_tokens * 2
    )
    assert llm_per_million_turns(
        dataclasses.replace(stage.config, llm=dearer), prices
    ) > llm_per_million_turns(stage.config, prices)


def test_the_canarys_runs_are_priced_with_a_turn_each(stage: SynthesizedStage) -> None:
    prices = load_prices()
    templates = _templates(stage)
    canary = stage.config.canary

    runs = canary_runs_per_month(templates)
    fixed = fixed_per_month(templates, prices, usd_per_turn=0.01)

    if not canary.enabled:
        assert runs == 0
        assert not [item for item in fixed if item.startswith("canary")]
        return
    assert runs == pytest.approx(30 * 24 * 60 / canary.every_minutes)
    assert _item(fixed, f"canary ({runs:,.0f} runs, each one turn)") == pytest.approx(
        runs * (prices["synthetics"]["per_canary_run"] + 0.01)
    )
