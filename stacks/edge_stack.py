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
from stacks.constructs.edge_rules import edge_rules
from stacks.constructs.log_encryption import LogKey

EDGE_REGION = "us-east-1"


class EdgeStack(cdk.Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig, **kwargs: Any) -> None:
        super().__init__(
            scope,
            construct_id,
            env=cdk.Environment(account=config.account, region=EDGE_REGION),
            **kwargs,
        )
        edge = config.edge
        self.web_acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            scope="CLOUDFRONT",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=waf_rules.visibility("ChatEdgeWaf"),
            rules=edge_rules(edge),
            custom_response_bodies=waf_rules.CUSTOM_RESPONSE_BODIES,
        )
        log_key = LogKey.of_stage(self, config, encrypts="edge web ACL logs")
        # "WafLogs" keeps the log group's logical ID of earlier releases: it has a fixed name, so a new
        # ID would make CloudFormation create the name again before deleting it, and fail.
        self.waf_logging = waf_rules.log_to_encrypted_group(
            self, "WafLogging", web_acl=self.web_acl, log_key=log_key, group_id="WafLogs"
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
