"""The web ACL in front of the user pool where anyone may sign up (sign_up.mode "open"): requests per IP
are limited, and addresses on AWS's reputation and anonymous-IP lists are refused, on the managed sign-in
pages and Cognito's API alike. Every account gets the default tier's tokens; this bounds how fast new ones
can be made."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from stacks.config import SignUp
from stacks.constructs import waf_rules
from stacks.constructs.log_encryption import LogKey

MANAGED_RULE_GROUPS = ("AWSManagedRulesAmazonIpReputationList", "AWSManagedRulesAnonymousIpList")


class UserPoolWaf(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        user_pool: cognito.IUserPool,
        sign_up: SignUp,
        log_key: LogKey,
    ) -> None:
        super().__init__(scope, construct_id)
        rules = [waf_rules.managed_rule(name, n) for n, name in enumerate(MANAGED_RULE_GROUPS)]
        rules.append(
            waf_rules.block(
                "RateLimitPerIp",
                len(rules),
                waf_rules.rate_per_ip(sign_up.requests_per_ip_per_5_minutes),
                status=429,
                body_key=waf_rules.TOO_MANY_REQUESTS_BODY,
                retry_after=waf_rules.RATE_LIMIT_RETRY_AFTER_SECONDS,
            )
        )
        self.web_acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            name=f"{cdk.Stack.of(self).stack_name}-users",
            scope="REGIONAL",
            description="Chat page sign-up and sign-in: rate per IP, IP reputation, anonymous IPs",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=waf_rules.visibility("ChatUserPoolWaf"),
            rules=rules,
            custom_response_bodies=waf_rules.CUSTOM_RESPONSE_BODIES,
        )
        wafv2.CfnWebACLAssociation(
            self, "Association", resource_arn=user_pool.user_pool_arn, web_acl_arn=self.web_acl.attr_arn
        )
        self.logging = waf_rules.log_to_encrypted_group(
            self, "Logging", web_acl=self.web_acl, log_key=log_key, suffix="-users"
        )
