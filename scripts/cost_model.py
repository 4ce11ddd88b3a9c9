"""What a stage costs per 1 million chat turns, and per month before any turn, from what its templates
deploy (synthesized here, as `make synth` does) and the price table in scripts/cost_prices.toml.

    make cost                          # every stage
    python -m scripts.cost_model --stage prod

Per turn: CloudFront, both web ACLs, API Gateway, the chat function (its memory from the template, times
the turn's duration: the model's answer and the handler's own work), DynamoDB request units and the
bytes the handler logs (both measured on a follow-up turn with moto, scripts/count_aws_calls.py), the
access and WAF logs. KMS and Secrets Manager calls are cached per container (the table's key by
DynamoDB, the LLM key for 5 minutes): a few per container, none per turn. Fixed a month: KMS keys,
secrets, web ACLs and their rules, alarms by the metrics they read, dashboards, and the Synthetics canary's
runs (each also a turn, priced as one). Beside them, the LLM's
own price per 1 million turns at the stage's configured prices. Backup and log storage grow with the
data kept, and are left out.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stacks.config import STAGES, StageConfig

PRICES = Path(__file__).with_name("cost_prices.toml")
TURNS = 1_000_000
GB = 1024**3
MINUTES_PER_MONTH = 30 * 24 * 60
CHAT_HANDLER = "lambda_src.handlers.chat.handler"


@dataclass(frozen=True)
class MeasuredTurn:
    read_units: float
    write_units: float
    log_bytes: int


def measure_turn() -> MeasuredTurn:
    from scripts.count_aws_calls import FOLLOW_UP, count_turn_calls

    (turn,) = [t for t in count_turn_calls() if t.case == FOLLOW_UP]
    return MeasuredTurn(turn.read_units, turn.write_units, turn.log_bytes)


def resources(templates: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for t in templates for r in t.get("Resources", {}).values()]


def chat_memory_gb(templates: list[dict[str, Any]]) -> float:
    (function,) = [
        r
        for r in resources(templates)
        if r["Type"] == "AWS::Lambda::Function" and r["Properties"].get("Handler") == CHAT_HANDLER
    ]
    return float(function["Properties"]["MemorySize"]) / 1024


def per_million_turns(
    templates: list[dict[str, Any]], turn: MeasuredTurn, prices: dict[str, Any]
) -> dict[str, float]:
    """USD per 1 million turns through CloudFront, by item."""
    assumed = prices["turn"]
    web_acls = sum(1 for r in resources(templates) if r["Type"] == "AWS::WAFv2::WebACL")
    seconds = assumed["llm_seconds"] + assumed["handler_seconds"]
    log_bytes = (
        turn.log_bytes
        + assumed["access_log_bytes"]
        + assumed["platform_log_bytes"]
        + web_acls * assumed["waf_log_bytes_per_acl"]
    )
    return {
        "CloudFront requests and transfer": prices["cloudfront"]["per_million_https_requests"]
        + TURNS * assumed["response_bytes"] / GB * prices["cloudfront"]["per_gb_to_internet"],
        f"WAF requests ({web_acls} web ACLs)": web_acls * prices["waf"]["per_million_requests"],
        "API Gateway REST requests": prices["api_gateway"]["rest_per_million_requests"],
        f"Lambda ({chat_memory_gb(templates):g} GB x {seconds:g} s)": prices["lambda"]["per_million_requests"]
        + TURNS * chat_memory_gb(templates) * seconds * prices["lambda"]["arm64_per_gb_second"],
        f"DynamoDB ({turn.read_units:g} RRU, {turn.write_units:g} WRU a turn)": turn.read_units
        * prices["dynamodb"]["per_million_read_request_units"]
        + turn.write_units * prices["dynamodb"]["per_million_write_request_units"],
        f"CloudWatch Logs ({log_bytes:,} bytes a turn)": TURNS
        * log_bytes
        / GB
        * prices["logs"]["per_gb_ingested"],
    }


def canary_runs_per_month(templates: list[dict[str, Any]]) -> float:
    runs = 0.0
    for r in resources(templates):
        if r["Type"] == "AWS::Synthetics::Canary":
            every = re.fullmatch(r"rate\((\d+) minutes?\)", r["Properties"]["Schedule"]["Expression"])
            if every is None:
                raise ValueError(f"cannot price the canary schedule {r['Properties']['Schedule']}")
            runs += MINUTES_PER_MONTH / int(every.group(1))
    return runs


def fixed_per_month(
    templates: list[dict[str, Any]], prices: dict[str, Any], *, usd_per_turn: float = 0.0
) -> dict[str, float]:
    """``usd_per_turn``: what one turn costs (infrastructure and LLM), for the canary's turns."""
    found = resources(templates)

    def count(resource_type: str) -> int:
        return sum(1 for r in found if r["Type"] == resource_type)

    rules = sum(len(r["Properties"].get("Rules", [])) for r in found if r["Type"] == "AWS::WAFv2::WebACL")
    # An alarm on metric math is billed per metric it reads; one on a single metric, once.
    alarm_metrics = sum(
        sum(1 for m in r["Properties"].get("Metrics", []) if "MetricStat" in m) or 1
        for r in found
        if r["Type"] == "AWS::CloudWatch::Alarm"
    )
    runs = canary_runs_per_month(templates)
    canary = (
        {
            f"canary ({runs:,.0f} runs, each one turn)": runs
            * (prices["synthetics"]["per_canary_run"] + usd_per_turn)
        }
        if runs
        else {}
    )
    return {
        f"KMS keys ({count('AWS::KMS::Key')})": count("AWS::KMS::Key") * prices["kms"]["key_per_month"],
        f"secrets ({count('AWS::SecretsManager::Secret')})": count("AWS::SecretsManager::Secret")
        * prices["secrets_manager"]["secret_per_month"],
        f"web ACLs ({count('AWS::WAFv2::WebACL')}) and their rules ({rules})": count("AWS::WAFv2::WebACL")
        * prices["waf"]["web_acl_per_month"]
        + rules * prices["waf"]["rule_per_month"],
        f"alarms ({count('AWS::CloudWatch::Alarm')}, reading {alarm_metrics} metrics) and composites "
        f"({count('AWS::CloudWatch::CompositeAlarm')})": alarm_metrics
        * prices["cloudwatch"]["alarm_metric_per_month"]
        + count("AWS::CloudWatch::CompositeAlarm") * prices["cloudwatch"]["composite_alarm_per_month"],
        f"dashboards ({count('AWS::CloudWatch::Dashboard')})": count("AWS::CloudWatch::Dashboard")
        * prices["cloudwatch"]["dashboard_per_month"],
    } | canary


def llm_per_million_turns(config: StageConfig, prices: dict[str, Any]) -> float:
    assumed = prices["turn"]
    llm = config.llm
    return TURNS * (
        assumed["input_tokens"] / 1000 * llm.usd_per_1k_input_tokens
        + assumed["output_tokens"] / 1000 * llm.usd_per_1k_output_tokens
    )


def report(
    config: StageConfig, templates: list[dict[str, Any]], turn: MeasuredTurn, prices: dict[str, Any]
) -> str:
    priced = f"{prices['currency']}, prices of {prices['date']}, {prices['region']}"
    lines = [f"{config.name}: per 1 million turns ({priced})"]
    turns = per_million_turns(templates, turn, prices)
    lines += [f"  {item:62} {usd:>10,.2f}" for item, usd in turns.items()]
    lines.append(f"  {'infrastructure per 1 million turns':62} {sum(turns.values()):>10,.2f}")
    models = ", ".join(f"{p.name} {p.model}" for p in config.llm.providers)
    tokens = f"{prices['turn']['input_tokens']} in + {prices['turn']['output_tokens']} out tokens a turn"
    lines.append(f"  {'LLM (' + tokens + ')':62} {llm_per_million_turns(config, prices):>10,.2f}")
    lines.append(f"    at the configured prices of {models}")
    usd_per_turn = (sum(turns.values()) + llm_per_million_turns(config, prices)) / TURNS
    fixed = fixed_per_month(templates, prices, usd_per_turn=usd_per_turn)
    lines.append(f"{config.name}: fixed a month, before any turn")
    lines += [f"  {item:62} {usd:>10,.2f}" for item, usd in fixed.items()]
    lines.append(f"  {'fixed a month':62} {sum(fixed.values()):>10,.2f}")
    return "\n".join(lines)


def load_prices(path: Path = PRICES) -> dict[str, Any]:
    return tomllib.loads(path.read_text())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stage", choices=sorted(STAGES), action="append", help="default: every stage")
    parser.add_argument("--out", type=Path, default=Path("cdk.out.cost"), help="where to synthesize")
    args = parser.parse_args(argv)
    from scan.synthesis import synthesize

    prices = load_prices()
    turn = measure_turn()
    stages = synthesize(args.out)
    for name in args.stage or list(STAGES):
        templates = [json.loads(path.read_text()) for path in stages[name].paths]
        print(report(STAGES[name], templates, turn, prices))
    return 0


if __name__ == "__main__":
    sys.exit(main())
