"""Regional WAF on the API stage: CloudFront-only access and the AWS managed baselines."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from stacks.constructs import waf_rules
from stacks.constructs.log_encryption import LogKey

MANAGED_RULE_GROUPS = (
    "AWSManagedRulesAmazonIpReputationList",
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
)
ORIGIN_VERIFY_HEADER = "x-origin-verify"


class RegionalWaf(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: apigw.Stage,
        origin_verify_value: str,
        origin_verify_generation: int,
        log_key: LogKey,
    ) -> None:
        """``origin_verify_value`` is a CloudFormation dynamic reference to the secret, never the value."""
        super().__init__(scope, construct_id)
        rules = [
            # Anything that did not come through this stage's CloudFront distribution is refused first.
            waf_rules.block(
                "RequireCloudFrontOriginHeader",
                0,
                waf_rules.negate(waf_rules.header_equals(ORIGIN_VERIFY_HEADER, origin_verify_value)),
            ),
            *(waf_rules.managed_rule(name, 1 + n) for n, name in enumerate(MANAGED_RULE_GROUPS)),
        ]
        # No per-IP rate rule here: behind CloudFront every request comes from an edge address. The
        # edge web ACL limits per viewer IP and per API key.
        self.web_acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            # Named, because CloudWatch dimensions WAF metrics by the web ACL's name (alarm on blocks).
            name=f"{cdk.Stack.of(self).stack_name}-api",
            scope="REGIONAL",
            # WAFv2 refuses descriptions with characters outside [\w+=:#@/\-,.\s] (no parentheses).
            description=f"Chat API: CloudFront only, origin-verify generation {origin_verify_generation}",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=waf_rules.visibility("ChatApiRegionalWaf"),
            rules=rules,
        )
        wafv2.CfnWebACLAssociation(
            self, "Association", resource_arn=stage.stage_arn, web_acl_arn=self.web_acl.attr_arn
        )
        self.logging = waf_rules.log_to_encrypted_group(
            self, "Logging", web_acl=self.web_acl, log_key=log_key
        )
