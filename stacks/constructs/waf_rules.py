"""Building blocks of the two web ACLs (regional on the API, CLOUDFRONT at the edge)."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from stacks.constructs.log_encryption import LogKey

# Chat messages legitimately contain code, file paths, URLs and HTML: these body rules of the Common
# Rule Set would block ordinary questions. They count instead; replies are JSON text, never HTML, and
# the body is validated against the request model.
COUNTED_BODY_RULES = {
    "AWSManagedRulesCommonRuleSet": (
        "CrossSiteScripting_BODY",
        "GenericLFI_BODY",
        "GenericRFI_BODY",
        "EC2MetaDataSSRF_BODY",
        "SizeRestrictions_BODY",  # the edge ACL has its own, route-aware body-size rule
    ),
    # Users ask chatbots about SQL; a question that quotes a query is not an injection into our store.
    "AWSManagedRulesSQLiRuleSet": ("SQLi_BODY",),
}


# Credentials never reach a WAF log: API keys, Cognito tokens, cookies and the value CloudFront adds so
# that the API admits only it.
REDACTED_HEADERS = ("x-api-key", "authorization", "cookie", "x-origin-verify")
# WAF delivers only to log groups whose name starts with this.
LOG_GROUP_PREFIX = "aws-waf-logs-"

# Bodies of the ACL's own refusals: JSON like the API's, with the status a client can act on.
TOO_MANY_REQUESTS_BODY = "TooManyRequests"
TOO_LARGE_BODY = "PayloadTooLarge"
RATE_LIMIT_RETRY_AFTER_SECONDS = 60
CUSTOM_RESPONSE_BODIES = {
    TOO_MANY_REQUESTS_BODY: wafv2.CfnWebACL.CustomResponseBodyProperty(
        content_type="APPLICATION_JSON", content='{"message": "Too many requests. Please slow down."}'
    ),
    TOO_LARGE_BODY: wafv2.CfnWebACL.CustomResponseBodyProperty(
        content_type="APPLICATION_JSON", content='{"message": "The request body is too large."}'
    ),
}


def visibility(metric_name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    # Sampled requests would show request headers (API keys, ID tokens, the origin-verify value) in
    # the console, unredacted: metrics and the redacted logs are what operators get.
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=metric_name, sampled_requests_enabled=False
    )


def managed_rule(
    name: str, priority: int, *, also_counted: tuple[str, ...] = ()
) -> wafv2.CfnWebACL.RuleProperty:
    """An AWS managed rule group; the rules of COUNTED_BODY_RULES, and ``also_counted``, only count."""
    overrides = [
        wafv2.CfnWebACL.RuleActionOverrideProperty(
            name=rule, action_to_use=wafv2.CfnWebACL.RuleActionProperty(count={})
        )
        for rule in (*COUNTED_BODY_RULES.get(name, ()), *also_counted)
    ]
    return wafv2.CfnWebACL.RuleProperty(
        name=name,
        priority=priority,
        override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
        statement=wafv2.CfnWebACL.StatementProperty(
            managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                vendor_name="AWS", name=name, rule_action_overrides=overrides or None
            )
        ),
        visibility_config=visibility(name),
    )


def block(
    name: str,
    priority: int,
    statement: wafv2.CfnWebACL.StatementProperty,
    *,
    status: int | None = None,
    body_key: str | None = None,
    retry_after: int | None = None,
) -> wafv2.CfnWebACL.RuleProperty:
    """Block, with WAF's plain 403 or with ``status`` and a JSON body (and Retry-After) for clients."""
    custom = None
    if status is not None:
        headers = (
            [wafv2.CfnWebACL.CustomHTTPHeaderProperty(name="Retry-After", value=str(retry_after))]
            if retry_after
            else None
        )
        custom = wafv2.CfnWebACL.CustomResponseProperty(
            response_code=status, custom_response_body_key=body_key, response_headers=headers
        )
    return wafv2.CfnWebACL.RuleProperty(
        name=name,
        priority=priority,
        action=wafv2.CfnWebACL.RuleActionProperty(
            block=wafv2.CfnWebACL.BlockActionProperty(custom_response=custom) if custom else {}
        ),
        statement=statement,
        visibility_config=visibility(name),
    )


def rate_per_ip(
    limit: int, *, scope_down: wafv2.CfnWebACL.StatementProperty | None = None
) -> wafv2.CfnWebACL.StatementProperty:
    return wafv2.CfnWebACL.StatementProperty(
        rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
            aggregate_key_type="IP", limit=limit, scope_down_statement=scope_down
        )
    )


def has_header(header: str) -> wafv2.CfnWebACL.StatementProperty:
    return wafv2.CfnWebACL.StatementProperty(
        size_constraint_statement=wafv2.CfnWebACL.SizeConstraintStatementProperty(
            field_to_match=wafv2.CfnWebACL.FieldToMatchProperty(single_header={"Name": header}),
            comparison_operator="GT",
            size=0,
            text_transformations=[wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="NONE")],
        )
    )


def rate_per_header(header: str, limit: int) -> wafv2.CfnWebACL.StatementProperty:
    """Requests without the header are not counted by this rule (the per-IP rule covers them)."""
    return wafv2.CfnWebACL.StatementProperty(
        rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
            aggregate_key_type="CUSTOM_KEYS",
            limit=limit,
            custom_keys=[
                wafv2.CfnWebACL.RateBasedStatementCustomKeyProperty(
                    header=wafv2.CfnWebACL.RateLimitHeaderProperty(
                        name=header,
                        text_transformations=[
                            wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="NONE")
                        ],
                    )
                )
            ],
        )
    )


def header_equals(header: str, value: str) -> wafv2.CfnWebACL.StatementProperty:
    return wafv2.CfnWebACL.StatementProperty(
        byte_match_statement=wafv2.CfnWebACL.ByteMatchStatementProperty(
            field_to_match=wafv2.CfnWebACL.FieldToMatchProperty(single_header={"Name": header}),
            positional_constraint="EXACTLY",
            search_string=value,
            text_transformations=[wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="NONE")],
        )
    )


def path_starts_with(prefix: str) -> wafv2.CfnWebACL.StatementProperty:
    return wafv2.CfnWebACL.StatementProperty(
        byte_match_statement=wafv2.CfnWebACL.ByteMatchStatementProperty(
            field_to_match=wafv2.CfnWebACL.FieldToMatchProperty(uri_path={}),
            positional_constraint="STARTS_WITH",
            search_string=prefix,
            text_transformations=[wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="NONE")],
        )
    )


def body_larger_than(size: int) -> wafv2.CfnWebACL.StatementProperty:
    return wafv2.CfnWebACL.StatementProperty(
        size_constraint_statement=wafv2.CfnWebACL.SizeConstraintStatementProperty(
            # Bodies beyond what WAF inspects count as too large too.
            field_to_match=wafv2.CfnWebACL.FieldToMatchProperty(
                body=wafv2.CfnWebACL.BodyProperty(oversize_handling="MATCH")
            ),
            comparison_operator="GT",
            size=size,
            text_transformations=[wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="NONE")],
        )
    )


def all_of(*statements: wafv2.CfnWebACL.StatementProperty) -> wafv2.CfnWebACL.StatementProperty:
    return wafv2.CfnWebACL.StatementProperty(
        and_statement=wafv2.CfnWebACL.AndStatementProperty(statements=list(statements))
    )


def any_of(*statements: wafv2.CfnWebACL.StatementProperty) -> wafv2.CfnWebACL.StatementProperty:
    return wafv2.CfnWebACL.StatementProperty(
        or_statement=wafv2.CfnWebACL.OrStatementProperty(statements=list(statements))
    )


def negate(statement: wafv2.CfnWebACL.StatementProperty) -> wafv2.CfnWebACL.StatementProperty:
    return wafv2.CfnWebACL.StatementProperty(
        not_statement=wafv2.CfnWebACL.NotStatementProperty(statement=statement)
    )


def log_to_encrypted_group(
    scope: Construct,
    construct_id: str,
    *,
    web_acl: wafv2.CfnWebACL,
    log_key: LogKey,
    suffix: str = "",
    group_id: str | None = None,
) -> wafv2.CfnLoggingConfiguration:
    """Log every request the web ACL sees to a KMS-encrypted log group (aws-waf-logs-<stack><suffix>),
    credentials redacted."""
    group = log_key.log_group(
        scope,
        group_id or f"{construct_id}Group",
        name=f"{LOG_GROUP_PREFIX}{cdk.Stack.of(scope).stack_name}{suffix}",
    )
    return wafv2.CfnLoggingConfiguration(
        scope,
        construct_id,
        resource_arn=web_acl.attr_arn,
        log_destination_configs=[group.log_group_arn],
        redacted_fields=[
            wafv2.CfnLoggingConfiguration.FieldToMatchProperty(single_header={"Name": header})
            for header in REDACTED_HEADERS
        ],
    )
