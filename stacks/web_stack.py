"""The chat page and the one public entry point: S3 (private, OAC) behind CloudFront, with /api/*
routed to the stage's API Gateway, security headers, access logs and the edge web ACL."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_route53_targets as targets
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from constructs import Construct

from stacks.config import StageConfig
from stacks.constructs.bucket_lifecycle import expire_after
from stacks.constructs.chat_page import ChatPage
from stacks.constructs.log_encryption import LogKey
from stacks.constructs.regional_waf import ORIGIN_VERIFY_HEADER
from stacks.constructs.response_headers import ResponseHeaders
from stacks.constructs.stage_canary import StageCanary
from stacks.constructs.user_directory import UserDirectory
from stacks.nag import HIPAA, NIST, PCI, acknowledge, acknowledge_rules, skip_checkov

# How long an overwritten or deleted access log stays recoverable.
NONCURRENT_LOG_DAYS = 30


class WebStack(cdk.Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        api: apigw.RestApi,
        origin_verify: secretsmanager.ISecret,
        web_acl_arn: str,
        certificate: acm.ICertificate | None,
        alarm_topic: sns.ITopic,
        users: UserDirectory | None = None,
        canary_key_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)

        self.log_bucket = s3.Bucket(
            self,
            "AccessLogs",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            # S3 server access logging delivers only to SSE-S3 buckets (SSE-KMS is not supported).
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.OBJECT_WRITER,  # CloudFront standard logs write with ACLs
            # A deleted or overwritten log stays recoverable for a while; logs still expire by retention.
            versioned=True,
            lifecycle_rules=expire_after(
                "ExpireLogs", config.log_retention_days, noncurrent_days=NONCURRENT_LOG_DAYS
            ),
            # Non-empty buckets cannot be deleted with the stack; they stay behind and expire by lifecycle.
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        acknowledge_rules(
            self.log_bucket,
            "S3DefaultEncryptionKMS",
            (NIST, HIPAA, PCI),
            "S3 server access logging delivers only to buckets whose default encryption is SSE-S3 "
            "(SSE-KMS is not supported for its target buckets); objects are encrypted at rest with SSE-S3.",
        )
        acknowledge_rules(
            self.log_bucket,
            "S3BucketReplicationEnabled",
            (NIST, HIPAA, PCI),
            "Access logs of one stage in one region, kept log_retention_days and versioned against deletion; "
            "a replica in a second region is part of the multi-region prod work, not of this stage.",
        )
        skip_checkov(
            self.log_bucket,
            "CKV_AWS_18",
            "This is the access-log bucket itself: logging it into itself would log every log delivery, "
            "and into another bucket would only move the question one bucket further.",
        )
        self.site_bucket = s3.Bucket(
            self,
            "Site",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            versioned=True,
            server_access_logs_bucket=self.log_bucket,
            server_access_logs_prefix="s3/site/",
            removal_policy=cdk.RemovalPolicy.RETAIN,  # versioned and non-empty: deleting the stack keeps it
        )
        acknowledge_rules(
            self.site_bucket,
            "S3DefaultEncryptionKMS",
            (NIST, HIPAA, PCI),
            "The bucket holds the public chat page (HTML, CSS, JS and config.json with no secret) that every "
            "visitor downloads; SSE-S3 encrypts it at rest and a customer key would protect nothing secret.",
        )
        acknowledge_rules(
            self.site_bucket,
            "S3BucketReplicationEnabled",
            (NIST, HIPAA, PCI),
            "The bucket holds only the built chat page, which every deploy rebuilds from the repository "
            "(stacks/page_build.py) and uploads again; a replica would hold nothing that cannot be rebuilt.",
        )

        headers = ResponseHeaders(
            self, "Headers", config=config, sign_in_url=users.domain_url if users else None
        )
        # CloudFront forwards Authorization only if it is part of the cache key; with every TTL at 0
        # nothing is cached, and the key headers are what lets both credentials reach the API.
        api_cache = cloudfront.CachePolicy(
            self,
            "ApiNoCache",
            comment="API: never cached; carries x-api-key and Authorization to the origin",
            default_ttl=cdk.Duration.seconds(0),
            min_ttl=cdk.Duration.seconds(0),
            max_ttl=cdk.Duration.seconds(1),
            header_behavior=cloudfront.CacheHeaderBehavior.allow_list("x-api-key", "Authorization"),
            query_string_behavior=cloudfront.CacheQueryStringBehavior.all(),
            cookie_behavior=cloudfront.CacheCookieBehavior.none(),
        )
        api_origin = origins.HttpOrigin(
            f"{api.rest_api_id}.execute-api.{self.region}.{self.url_suffix}",
            protocol_policy=cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
            origin_ssl_protocols=[cloudfront.OriginSslPolicy.TLS_V1_2],
            # A dynamic reference: CloudFormation reads the value at deploy time; no template holds it.
            custom_headers={ORIGIN_VERIFY_HEADER: origin_verify.secret_value.unsafe_unwrap()},
            # The longest wait for the next bytes of a response: a streamed reply sends a heartbeat
            # comment more often (config.stream.heartbeat_seconds, checked to be shorter).
            read_timeout=cdk.Duration.seconds(config.stream.origin_read_timeout_seconds),
        )
        domain = config.edge.custom_domain
        self.distribution = cloudfront.Distribution(
            self,
            "Distribution",
            # The generation changes this resource when the origin-verify secret is rotated, so that
            # CloudFormation re-reads the secret (see docs/operations.md).
            comment=f"Chatbot {config.name} (origin-verify generation {config.origin_verify_generation})",
            default_root_object="index.html",
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.S3BucketOrigin.with_origin_access_control(self.site_bucket),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
                response_headers_policy=headers.page,
            ),
            additional_behaviors={
                "/api/*": cloudfront.BehaviorOptions(
                    origin=api_origin,
                    # Refused, not redirected: a client that sends its key over plain HTTP has already
                    # leaked it, and a redirect would teach it that this works.
                    viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
                    allowed_methods=cloudfront.AllowedMethods.ALLOW_ALL,
                    cache_policy=api_cache,
                    # Never compressed: CloudFront would hold a streamed reply back to compress it.
                    compress=False,
                    origin_request_policy=cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
                    response_headers_policy=headers.api,
                )
            },
            web_acl_id=web_acl_arn,
            enable_logging=True,
            log_bucket=self.log_bucket,
            log_file_prefix="cloudfront/",
            geo_restriction=cloudfront.GeoRestriction.allowlist(*config.edge.geo_allow_list)
            if config.edge.geo_allow_list
            else None,
            domain_names=[domain.domain_name] if domain else None,
            certificate=certificate,
            # Only a certificate of our own can carry a security policy; CloudFront's default one is fixed.
            minimum_protocol_version=cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021 if certificate else None,
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            price_class=cloudfront.PriceClass.PRICE_CLASS_100,
        )
        if not config.edge.geo_allow_list:
            acknowledge(
                self.distribution,
                "AwsSolutions-CFR1",
                "The stage's edge config allows every country (geo_allow_list is empty); set it in "
                "stacks/config.py to restrict viewers by country.",
            )
        if domain is None:
            default_certificate = (
                "Without a custom domain CloudFront serves its default *.cloudfront.net certificate, whose "
                "minimum protocol AWS fixes; a custom_domain in config enforces TLSv1.2_2021 (prod must "
                "have one: config refuses prod without it)."
            )
            acknowledge(self.distribution, "AwsSolutions-CFR4", default_certificate)
            skip_checkov(self.distribution, "CKV_AWS_174", default_certificate)
        else:
            zone = route53.HostedZone.from_hosted_zone_attributes(
                self, "Zone", hosted_zone_id=domain.hosted_zone_id, zone_name=domain.hosted_zone_name
            )
            alias = route53.RecordTarget.from_alias(targets.CloudFrontTarget(self.distribution))
            route53.ARecord(self, "Alias", zone=zone, record_name=domain.domain_name, target=alias)
            route53.AaaaRecord(self, "AliasIpv6", zone=zone, record_name=domain.domain_name, target=alias)

        log_key = LogKey.of_stage(self, config, encrypts="page deployment's logs")
        ChatPage(
            self,
            "Page",
            config=config,
            bucket=self.site_bucket,
            distribution=self.distribution,
            users=users,
            log_key=log_key,
        )

        site_url = f"https://{domain.domain_name if domain else self.distribution.distribution_domain_name}"
        # Where config turns it on (the service stack then makes its key).
        self.canary = (
            StageCanary(
                self,
                "Canary",
                config=config,
                site_url=site_url,
                api_key_id=canary_key_id,
                alarm_topic=alarm_topic,
                key=log_key.key,
                access_logs=self.log_bucket,
            )
            if canary_key_id
            else None
        )
        cdk.CfnOutput(self, "SiteUrl", value=site_url)
        cdk.CfnOutput(self, "DistributionId", value=self.distribution.distribution_id)
        cdk.CfnOutput(self, "SiteBucketName", value=self.site_bucket.bucket_name)
