"""What CloudFront needs from us-east-1: the CLOUDFRONT-scope web ACL with its logs, and the
certificate of the optional custom domain. The other stacks read them through cross-region references."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from stacks.config import StageConfig
from stacks.constructs import waf_rules
from stacks.constructs.log_encryption import LogKey

EDGE_REGION = "us-east-1"
EDGE_MANAGED_RULE_GROUPS = (
    "AWSManagedRulesAmazonIpReputationList",
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesSQLiRuleSet",
)
ANONYMOUS_IP_RULE_GROUP = "AWSManagedRulesAnonymousIpList"
API_KEY_HEADER = "x-api-key"
CHAT_PATHS = ("/api/chat", "/api/web/chat")


class EdgeStack(cdk.Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig, **kwargs: Any) -> None:
        super().__init__(
            scope,
            construct_id,
            env=cdk.Environment(account=config.account, region=EDGE_REGION),
            **kwargs,
        )
        edge = config.edge
        groups = [*EDGE_MANAGED_RULE_GROUPS, *([ANONYMOUS_IP_RULE_GROUP] if edge.block_anonymous_ips else [])]
        rules = [waf_rules.managed_rule(name, n) for n, name in enumerate(groups)]
        has_key = waf_rules.has_header(API_KEY_HEADER)
        rules += [
            # Every request is limited per viewer IP by exactly one of the first two rules. Keyless
            # requests (the page, /health) get the tight limit; requests with an x-api-key get one that a
            # paid tier's program fits under, and a caller that invents a new key per request is still
            # counted per IP. Valid keys are limited per key as well, so a leaked key used from many
            # addresses cannot outrun its usage plan by spreading out.
            waf_rules.block(
                "RateLimitPerIp",
                len(rules),
                waf_rules.rate_per_ip(
                    edge.rate_limit_per_ip_per_5_minutes, scope_down=waf_rules.negate(has_key)
                ),
                status=429,
                body_key=waf_rules.TOO_MANY_REQUESTS_BODY,
                retry_after=waf_rules.RATE_LIMIT_RETRY_AFTER_SECONDS,
            ),
            waf_rules.block(
                "RateLimitPerIpWithApiKey",
                len(rules) + 1,
                waf_rules.rate_per_ip(edge.rate_limit_per_ip_with_api_key_per_5_minutes, scope_down=has_key),
                status=429,
                body_key=waf_rules.TOO_MANY_REQUESTS_BODY,
                retry_after=waf_rules.RATE_LIMIT_RETRY_AFTER_SECONDS,
            ),
            waf_rules.block(
                "RateLimitPerApiKey",
                len(rules) + 2,
                waf_rules.rate_per_header(API_KEY_HEADER, edge.rate_limit_per_api_key_per_5_minutes),
                status=429,
                body_key=waf_rules.TOO_MANY_REQUESTS_BODY,
                retry_after=waf_rules.RATE_LIMIT_RETRY_AFTER_SECONDS,
            ),
            waf_rules.block(
                "ChatBodyTooLarge",
                len(rules) + 3,
                waf_rules.all_of(
                    waf_rules.any_of(*(waf_rules.path_starts_with(p) for p in CHAT_PATHS)),
                    waf_rules.body_larger_than(edge.max_chat_body_bytes),
                ),
                status=413,
                body_key=waf_rules.TOO_LARGE_BODY,
            ),
        ]
        self.web_acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            scope="CLOUDFRONT",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=waf_rules.visibility("ChatEdgeWaf"),
            rules=rules,
            custom_response_bodies=waf_rules.CUSTOM_RESPONSE_BODIES,
        )
        log_key = LogKey(
            self,
            "LogKey",
            description=f"Encrypts the chatbot's {config.name} edge web ACL logs",
            retention=config.log_retention,
            removal_policy=config.removal_policy,
        )
        self.waf_logging = waf_rules.log_to_encrypted_group(
            self, "WafLogging", web_acl=self.web_acl, log_key=log_key
        )

        self.certificate: acm.ICertificate | None = None
        if edge.custom_domain is not None:
            zone = route53.HostedZone.from_hosted_zone_attributes(
                self,
                "Zone",
                hosted_zone_id=edge.custom_domain.hosted_zone_id,
                zone_name=edge.custom_domain.hosted_zone_name,
            )
            self.certificate = acm.Certificate(
                self,
                "Certificate",
                domain_name=edge.custom_domain.domain_name,
                validation=acm.CertificateValidation.from_dns(zone),
            )
