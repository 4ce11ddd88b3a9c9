"""The CloudFront web ACL: managed baselines, and rate limits that no request escapes."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from stacks.config import STAGES, EdgeConfig
from stacks.constructs.edge_rules import EDGE_MANAGED_RULE_GROUPS, edge_rules
from tests.infra.conftest import SynthesizedStage, only_resource

RATE_RULES = ("RateLimitPerIp", "RateLimitPerIpWithApiKey", "RateLimitPerApiKey", "RateLimitHealthPerIp")


def _rules(stage: SynthesizedStage) -> dict[str, dict[str, Any]]:
    _, acl = only_resource(stage.edge, "AWS::WAFv2::WebACL")
    assert acl["Properties"]["Scope"] == "CLOUDFRONT"
    return {rule["Name"]: rule for rule in acl["Properties"]["Rules"]}


def _matches(statement: dict[str, Any], path: str, headers: dict[str, str]) -> bool:
    """Evaluate the statement kinds these rules use against one request (no text transformations)."""
    if "AndStatement" in statement:
        return all(_matches(s, path, headers) for s in statement["AndStatement"]["Statements"])
    if "OrStatement" in statement:
        return any(_matches(s, path, headers) for s in statement["OrStatement"]["Statements"])
    if "NotStatement" in statement:
        return not _matches(statement["NotStatement"]["Statement"], path, headers)
    if "ByteMatchStatement" in statement:
        match = statement["ByteMatchStatement"]
        assert match["FieldToMatch"] == {"UriPath": {}}
        assert match["PositionalConstraint"] == "STARTS_WITH"
        return path.startswith(match["SearchString"])
    if "SizeConstraintStatement" in statement:
        size = statement["SizeConstraintStatement"]
        header = size["FieldToMatch"]["SingleHeader"]["Name"]
        assert (size["ComparisonOperator"], size["Size"]) == ("GT", 0)
        return len(headers.get(header, "")) > 0
    raise AssertionError(f"statement kind not modelled: {sorted(statement)}")


def _per_ip_rules_counting(stage: SynthesizedStage, path: str, headers: dict[str, str]) -> list[str]:
    counted = []
    for name in ("RateLimitPerIp", "RateLimitPerIpWithApiKey"):
        rate = _rules(stage)[name]["Statement"]["RateBasedStatement"]
        assert rate["AggregateKeyType"] == "IP"
        if _matches(rate["ScopeDownStatement"], path, headers):
            counted.append(name)
    return counted


REQUESTS = [
    ("/", {}),
    ("/api/health", {}),
    ("/api/health", {"x-api-key": "made-up-1"}),
    ("/api/web/chat", {"authorization": "token"}),
    ("/api/web/chat", {"authorization": "token", "x-api-key": "made-up-2"}),
    ("/api/chat", {}),
    ("/api/chat", {"x-api-key": "made-up-3"}),
    ("/api/chat/jobs/abc", {"x-api-key": "k"}),
    ("/api/conversations/session-1", {"x-api-key": "k"}),
    ("/index.html", {"x-api-key": "k"}),
]


@pytest.mark.parametrize(("path", "headers"), REQUESTS)
def test_every_request_is_counted_per_ip_by_exactly_one_rule(
    stage: SynthesizedStage, path: str, headers: dict[str, str]
) -> None:
    """A caller that invents a new x-api-key for every request is still counted per viewer IP."""
    assert len(_per_ip_rules_counting(stage, path, headers)) == 1


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/api/health", {"x-api-key": "junk"}),
        ("/api/web/chat", {"x-api-key": "junk"}),
        ("/", {"x-api-key": "j"}),
    ],
)
def test_a_junk_key_on_a_route_that_never_checks_one_buys_no_higher_limit(
    stage: SynthesizedStage, path: str, headers: dict[str, str]
) -> None:
    assert _per_ip_rules_counting(stage, path, headers) == ["RateLimitPerIp"]


@pytest.mark.parametrize("path", ["/api/chat", "/api/chat/jobs", "/api/conversations/s-1"])
def test_programs_calling_key_routes_get_the_limit_a_paid_tier_fits_under(
    stage: SynthesizedStage, path: str
) -> None:
    assert _per_ip_rules_counting(stage, path, {"x-api-key": "k"}) == ["RateLimitPerIpWithApiKey"]


def test_the_limits_come_from_config_and_paid_tiers_fit(stage: SynthesizedStage) -> None:
    rules, edge = _rules(stage), stage.config.edge
    limit = {name: rules[name]["Statement"]["RateBasedStatement"]["Limit"] for name in RATE_RULES}
    assert limit == {
        "RateLimitPerIp": edge.rate_limit_per_ip_per_5_minutes,
        "RateLimitPerIpWithApiKey": edge.rate_limit_per_ip_with_api_key_per_5_minutes,
        "RateLimitPerApiKey": edge.rate_limit_per_api_key_per_5_minutes,
        "RateLimitHealthPerIp": edge.health_rate_limit_per_ip_per_5_minutes,
    }
    per_key = rules["RateLimitPerApiKey"]["Statement"]["RateBasedStatement"]
    assert per_key["CustomKeys"][0]["Header"]["Name"] == "x-api-key"
    fastest_tier = max(t.throttle.rate_limit for t in stage.config.tiers)
    assert min(limit["RateLimitPerApiKey"], limit["RateLimitPerIpWithApiKey"]) >= fastest_tier * 300


def test_health_has_a_per_ip_limit_of_its_own(stage: SynthesizedStage) -> None:
    """Its API Gateway method throttle is one bucket for everyone; no single caller may drain it."""
    rate = _rules(stage)["RateLimitHealthPerIp"]["Statement"]["RateBasedStatement"]
    assert rate["AggregateKeyType"] == "IP"
    assert _matches(rate["ScopeDownStatement"], "/api/health", {})
    assert not _matches(rate["ScopeDownStatement"], "/api/chat", {})
    # one address gets at most a fifth of what the method throttle lets through in 5 minutes
    assert rate["Limit"] <= stage.config.health_throttle.rate_limit * 300 / 5


def test_rate_limits_answer_429_with_retry_after(stage: SynthesizedStage) -> None:
    rules = _rules(stage)
    for name in RATE_RULES:
        response = rules[name]["Action"]["Block"]["CustomResponse"]
        assert response["ResponseCode"] == 429
        assert response["ResponseHeaders"][0]["Name"] == "Retry-After"


def test_the_edge_runs_the_managed_rule_groups_and_anonymous_ips_per_config(stage: SynthesizedStage) -> None:
    rules = _rules(stage)
    managed = {n for n, r in rules.items() if "ManagedRuleGroupStatement" in r["Statement"]}
    expected = set(EDGE_MANAGED_RULE_GROUPS) | (
        {"AWSManagedRulesAnonymousIpList"} if stage.config.edge.block_anonymous_ips else set()
    )
    assert managed == expected


def _anonymous_ip_overrides(edge: EdgeConfig) -> list[str]:
    # jsii's property types are unions with IResolvable; these are plain structs.
    rules: list[Any] = edge_rules(edge)
    (group,) = [
        rule.statement.managed_rule_group_statement
        for rule in rules
        if rule.name == "AWSManagedRulesAnonymousIpList"
    ]
    return [o.name for o in group.rule_action_overrides or [] if o.action_to_use.count is not None]


def test_hosting_providers_only_count_unless_config_blocks_them(
    synthesized: dict[str, SynthesizedStage],
) -> None:
    """Programs with API keys, and the runners that test each deploy, run on hosting providers: blocking
    anonymous IPs (VPNs, Tor) leaves them in unless config says otherwise."""
    prod = synthesized["prod"].config.edge
    assert prod.block_anonymous_ips
    assert _anonymous_ip_overrides(prod) == ["HostingProviderIPList"]
    (deployed,) = [
        r["Statement"]["ManagedRuleGroupStatement"]["RuleActionOverrides"]
        for name, r in _rules(synthesized["prod"]).items()
        if name == "AWSManagedRulesAnonymousIpList"
    ]
    assert deployed == [{"Name": "HostingProviderIPList", "ActionToUse": {"Count": {}}}]
    strict = dataclasses.replace(prod, block_hosting_providers=True)
    assert _anonymous_ip_overrides(strict) == []


def test_waf_answers_are_json_and_samples_are_off(stage: SynthesizedStage) -> None:
    _, acl = only_resource(stage.edge, "AWS::WAFv2::WebACL")
    bodies = acl["Properties"]["CustomResponseBodies"]
    assert all(body["ContentType"] == "APPLICATION_JSON" for body in bodies.values())
    for template in (stage.edge, stage.service):
        _, any_acl = only_resource(template, "AWS::WAFv2::WebACL")
        configs = [
            any_acl["Properties"]["VisibilityConfig"],
            *(r["VisibilityConfig"] for r in any_acl["Properties"]["Rules"]),
        ]
        assert not any(c["SampledRequestsEnabled"] for c in configs)  # samples would show keys and tokens


def test_the_waf_log_group_keeps_its_logical_id(stage: SynthesizedStage) -> None:
    """It has a fixed name: under a new logical ID CloudFormation would create the name again first, and
    the update would fail in every deployed stage."""
    (group_id,) = stage.edge.find_resources("AWS::Logs::LogGroup")
    assert group_id == "WafLogsF9F75746"
    assert "WafLogsF9F75746" in json.dumps(stage.edge.find_resources("AWS::WAFv2::LoggingConfiguration"))


@pytest.mark.parametrize(
    "field", ["rate_limit_per_api_key_per_5_minutes", "rate_limit_per_ip_with_api_key_per_5_minutes"]
)
def test_a_keyed_limit_stricter_than_the_fastest_tier_is_refused(field: str) -> None:
    overrides: dict[str, Any] = {field: 300}
    edge = dataclasses.replace(STAGES["prod"].edge, **overrides)
    with pytest.raises(ValueError, match="fastest tier"):
        dataclasses.replace(STAGES["prod"], edge=edge)


def test_a_rate_limit_below_what_waf_accepts_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 10"):
        dataclasses.replace(STAGES["prod"].edge, health_rate_limit_per_ip_per_5_minutes=5)
