"""The rules of the CloudFront web ACL: AWS's managed baselines, then rate limits and a body-size limit.

Every request is limited per viewer IP by exactly one of the first two rate rules. Requests with an
x-api-key to a route that requires one get a limit a paid tier's program fits under; everything else
(the page, /health, the signed-in /web/* routes, and any request that merely carries some x-api-key to a
route that never checks it) gets the tight one. A caller that invents a new key per request is still
counted per IP. Valid keys are limited per key value as well, so a leaked key used from many addresses
cannot outrun its usage plan by spreading out; and /health, the one route with no credential, has a
per-IP limit of its own.
"""

from __future__ import annotations

from aws_cdk import aws_wafv2 as wafv2

from stacks.config import EdgeConfig
from stacks.constructs import waf_rules

EDGE_MANAGED_RULE_GROUPS = (
    "AWSManagedRulesAmazonIpReputationList",
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesSQLiRuleSet",
)
ANONYMOUS_IP_RULE_GROUP = "AWSManagedRulesAnonymousIpList"
# Its rule for addresses of hosting and cloud providers: counted unless edge.block_hosting_providers.
HOSTING_PROVIDER_RULE = "HostingProviderIPList"
API_KEY_HEADER = "x-api-key"
# Routes API Gateway answers only with a valid key (POST /chat, /chat/jobs..., /conversations/...).
KEY_ROUTE_PREFIXES = ("/api/chat", "/api/conversations")
CHAT_PATHS = ("/api/chat", "/api/web/chat")
HEALTH_PATH = "/api/health"


def _too_many(
    name: str, priority: int, statement: wafv2.CfnWebACL.StatementProperty
) -> wafv2.CfnWebACL.RuleProperty:
    return waf_rules.block(
        name,
        priority,
        statement,
        status=429,
        body_key=waf_rules.TOO_MANY_REQUESTS_BODY,
        retry_after=waf_rules.RATE_LIMIT_RETRY_AFTER_SECONDS,
    )


def edge_rules(edge: EdgeConfig) -> list[wafv2.CfnWebACL.RuleProperty]:
    groups = [*EDGE_MANAGED_RULE_GROUPS, *([ANONYMOUS_IP_RULE_GROUP] if edge.block_anonymous_ips else [])]
    rules = [
        waf_rules.managed_rule(
            name,
            n,
            also_counted=(HOSTING_PROVIDER_RULE,)
            if name == ANONYMOUS_IP_RULE_GROUP and not edge.block_hosting_providers
            else (),
        )
        for n, name in enumerate(groups)
    ]
    keyed_call = waf_rules.all_of(
        waf_rules.has_header(API_KEY_HEADER),
        waf_rules.any_of(*(waf_rules.path_starts_with(prefix) for prefix in KEY_ROUTE_PREFIXES)),
    )
    first = len(rules)
    return [
        *rules,
        _too_many(
            "RateLimitPerIp",
            first,
            waf_rules.rate_per_ip(
                edge.rate_limit_per_ip_per_5_minutes, scope_down=waf_rules.negate(keyed_call)
            ),
        ),
        _too_many(
            "RateLimitPerIpWithApiKey",
            first + 1,
            waf_rules.rate_per_ip(edge.rate_limit_per_ip_with_api_key_per_5_minutes, scope_down=keyed_call),
        ),
        _too_many(
            "RateLimitPerApiKey",
            first + 2,
            waf_rules.rate_per_header(API_KEY_HEADER, edge.rate_limit_per_api_key_per_5_minutes),
        ),
        _too_many(
            "RateLimitHealthPerIp",
            first + 3,
            waf_rules.rate_per_ip(
                edge.health_rate_limit_per_ip_per_5_minutes,
                scope_down=waf_rules.path_starts_with(HEALTH_PATH),
            ),
        ),
        waf_rules.block(
            "ChatBodyTooLarge",
            first + 4,
            waf_rules.all_of(
                waf_rules.any_of(*(waf_rules.path_starts_with(p) for p in CHAT_PATHS)),
                waf_rules.body_larger_than(edge.max_chat_body_bytes),
            ),
            status=413,
            body_key=waf_rules.TOO_LARGE_BODY,
        ),
    ]
