"""CloudFront in front, its web ACL in us-east-1, the private site bucket, and the API behind /api/*."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from stacks.config import STAGES, CustomDomain
from stacks.stage import build_stages
from tests.infra.conftest import SynthesizedStage, cdk_context, only_resource


def _distribution(stage: SynthesizedStage) -> dict[str, Any]:
    return only_resource(stage.web, "AWS::CloudFront::Distribution")[1]["Properties"]["DistributionConfig"]


def test_the_edge_web_acl_lives_in_us_east_1(stage: SynthesizedStage) -> None:
    assert stage.stage.edge.region == "us-east-1"
    web_acl = _distribution(stage)["WebACLId"]["Fn::GetStackOutput"]
    assert web_acl["Region"] == "us-east-1"
    assert web_acl["StackName"] == stage.stage.edge.stack_name


def test_the_site_bucket_is_private_ssl_only_versioned_and_logged(stage: SynthesizedStage) -> None:
    buckets = stage.web.find_resources("AWS::S3::Bucket")
    (site,) = [b for logical_id, b in buckets.items() if logical_id.startswith("Site")]
    props = site["Properties"]
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert "AccessLogs" in json.dumps(props["LoggingConfiguration"]["DestinationBucketName"])
    policies = json.dumps(stage.web.find_resources("AWS::S3::BucketPolicy"))
    assert '"aws:SecureTransport": "false"' in policies


def test_the_access_log_bucket_is_versioned_and_old_versions_expire(stage: SynthesizedStage) -> None:
    buckets = stage.web.find_resources("AWS::S3::Bucket")
    (logs,) = [b["Properties"] for logical_id, b in buckets.items() if logical_id.startswith("AccessLogs")]
    assert logs["VersioningConfiguration"] == {"Status": "Enabled"}
    rules = {rule["Id"]: rule for rule in logs["LifecycleConfiguration"]["Rules"]}
    assert rules["ExpireLogs"]["ExpirationInDays"] == stage.config.log_retention_days
    assert rules["ExpireLogs"]["NoncurrentVersionExpiration"]["NoncurrentDays"] > 0
    assert rules["RemoveExpiredDeleteMarkers"]["ExpiredObjectDeleteMarker"] is True
    assert all(rule["Status"] == "Enabled" for rule in rules.values())


def test_the_page_deployment_may_invalidate_this_distribution_only(stage: SynthesizedStage) -> None:
    distribution_id, _ = only_resource(stage.web, "AWS::CloudFront::Distribution")
    statements = [
        statement
        for policy in stage.web.find_resources("AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    (invalidation,) = [s for s in statements if "cloudfront:CreateInvalidation" in json.dumps(s["Action"])]
    assert sorted(invalidation["Action"]) == ["cloudfront:CreateInvalidation", "cloudfront:GetInvalidation"]
    resource = json.dumps(invalidation["Resource"])
    assert ":cloudfront::" in resource
    assert f'"Ref": "{distribution_id}"' in resource
    assert not any(s["Resource"] == "*" for s in statements)


def test_a_grant_added_after_the_invalidation_was_narrowed_fails_the_synth() -> None:
    """The narrowed policy is a copy; a later grant would be lost without this check."""
    from aws_cdk import aws_iam as iam

    app = cdk.App(context=cdk_context(), builtin_cloud_formation_validation=False)
    stage = build_stages(app, [STAGES["dev"]])["dev"]
    handler = next(c for c in stage.web.node.children if c.node.id.startswith("Custom::CDKBucketDeployment"))
    role = handler.node.find_child("ServiceRole")
    assert isinstance(role, iam.Role)
    role.add_to_policy(iam.PolicyStatement(actions=["s3:GetObject"], resources=["arn:aws:s3:::late/*"]))
    with pytest.raises(RuntimeError, match="changed after its CloudFront invalidation was narrowed"):
        app.synth()


def test_the_page_is_served_through_origin_access_control(stage: SynthesizedStage) -> None:
    stage.web.resource_count_is("AWS::CloudFront::OriginAccessControl", 1)
    s3_origin = next(o for o in _distribution(stage)["Origins"] if "S3OriginConfig" in o)
    assert "OriginAccessControlId" in s3_origin
    assert s3_origin["S3OriginConfig"].get("OriginAccessIdentity", "") == ""


def test_page_viewers_are_redirected_to_https_and_get_security_headers(stage: SynthesizedStage) -> None:
    config = _distribution(stage)
    assert config["DefaultCacheBehavior"]["ViewerProtocolPolicy"] == "redirect-to-https"
    _, policy = only_resource(stage.web, "AWS::CloudFront::ResponseHeadersPolicy")
    headers = policy["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    assert headers["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= 31_536_000
    csp = headers["ContentSecurityPolicy"]["ContentSecurityPolicy"]
    assert "default-src 'none'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert headers["ContentTypeOptions"]["Override"] is True
    assert headers["FrameOptions"]["FrameOption"] == "DENY"
    assert headers["ReferrerPolicy"]["ReferrerPolicy"] == "strict-origin-when-cross-origin"


def test_the_api_refuses_plain_http_instead_of_redirecting(stage: SynthesizedStage) -> None:
    """A redirect would come after the client already sent its key in clear."""
    (api,) = [b for b in _distribution(stage)["CacheBehaviors"] if b["PathPattern"] == "/api/*"]
    assert api["ViewerProtocolPolicy"] == "https-only"


def test_api_requests_reach_api_gateway_uncached_with_their_credentials(stage: SynthesizedStage) -> None:
    config = _distribution(stage)
    (api,) = [b for b in config["CacheBehaviors"] if b["PathPattern"] == "/api/*"]
    assert set(api["AllowedMethods"]) == {"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"}
    assert api["OriginRequestPolicyId"] == "b689b0a8-53d0-40ab-baf2-68738e2966ac"  # AllViewerExceptHostHeader
    _, cache = only_resource(stage.web, "AWS::CloudFront::CachePolicy")
    cache_config = cache["Properties"]["CachePolicyConfig"]
    assert (cache_config["DefaultTTL"], cache_config["MinTTL"]) == (0, 0)
    headers = cache_config["ParametersInCacheKeyAndForwardedToOrigin"]["HeadersConfig"]["Headers"]
    assert set(headers) == {"x-api-key", "Authorization"}
    api_origin = next(o for o in config["Origins"] if o["Id"] == api["TargetOriginId"])
    assert "execute-api" in json.dumps(api_origin["DomainName"])
    assert api_origin["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"


def test_the_origin_verify_header_is_a_dynamic_reference_never_a_value(stage: SynthesizedStage) -> None:
    origin_headers = [h for o in _distribution(stage)["Origins"] for h in o.get("OriginCustomHeaders", [])]
    (header,) = origin_headers
    assert header["HeaderName"] == "x-origin-verify"
    assert "{{resolve:secretsmanager:" in json.dumps(header["HeaderValue"])
    _, secret = only_resource(stage.service, "AWS::SecretsManager::Secret")
    assert "GenerateSecretString" in secret["Properties"]
    assert "SecretString" not in secret["Properties"]


def test_the_origin_verify_secret_is_under_the_stage_data_key(stage: SynthesizedStage) -> None:
    _, secret = only_resource(stage.service, "AWS::SecretsManager::Secret")
    assert "DataKey" in json.dumps(secret["Properties"]["KmsKeyId"])
    assert "Fn::GetStackOutput" in json.dumps(secret["Properties"]["KmsKeyId"])  # the data stack's key


def test_cloudfront_access_logs_are_written(stage: SynthesizedStage) -> None:
    logging = _distribution(stage)["Logging"]
    assert "AccessLogs" in json.dumps(logging["Bucket"])
    assert logging["Prefix"] == "cloudfront/"


@pytest.fixture(scope="module")
def with_domain_and_geo() -> tuple[Template, Template]:
    edge = dataclasses.replace(
        STAGES["prod"].edge,
        geo_allow_list=("DE", "FR"),
        custom_domain=CustomDomain(
            domain_name="chat.example.com", hosted_zone_id="Z123456ABCDEFG", hosted_zone_name="example.com"
        ),
    )
    app = cdk.App(context=cdk_context(), builtin_cloud_formation_validation=False)
    stage = build_stages(app, [dataclasses.replace(STAGES["prod"], region="eu-west-1", edge=edge)])["prod"]
    return Template.from_stack(stage.edge), Template.from_stack(stage.web)


def test_a_custom_domain_gets_a_us_east_1_certificate_tls_1_2_and_alias_records(
    with_domain_and_geo: tuple[Template, Template],
) -> None:
    edge, web = with_domain_and_geo
    edge.has_resource_properties("AWS::CertificateManager::Certificate", {"DomainName": "chat.example.com"})
    config = web.find_resources("AWS::CloudFront::Distribution")
    (distribution,) = config.values()
    dc = distribution["Properties"]["DistributionConfig"]
    assert dc["Aliases"] == ["chat.example.com"]
    assert dc["ViewerCertificate"]["MinimumProtocolVersion"] == "TLSv1.2_2021"
    assert dc["ViewerCertificate"]["AcmCertificateArn"]["Fn::GetStackOutput"]["Region"] == "us-east-1"
    assert {r["Properties"]["Type"] for r in web.find_resources("AWS::Route53::RecordSet").values()} == {
        "A",
        "AAAA",
    }


def test_prod_serves_its_own_domain_with_tls_1_2_2021_only(synthesized: dict[str, SynthesizedStage]) -> None:
    prod = synthesized["prod"]
    domain = prod.config.edge.custom_domain
    assert domain is not None
    config = _distribution(prod)
    assert config["Aliases"] == [domain.domain_name]
    certificate = config["ViewerCertificate"]
    assert certificate["MinimumProtocolVersion"] == "TLSv1.2_2021"
    assert certificate["SslSupportMethod"] == "sni-only"
    assert "CloudFrontDefaultCertificate" not in certificate
    prod.edge.has_resource_properties(
        "AWS::CertificateManager::Certificate",
        {"DomainName": domain.domain_name, "ValidationMethod": "DNS"},
    )


def test_stages_without_a_domain_set_no_security_policy_they_cannot_have(
    synthesized: dict[str, SynthesizedStage],
) -> None:
    for stage in synthesized.values():
        if stage.config.edge.custom_domain is None:
            certificate = _distribution(stage).get("ViewerCertificate", {})
            assert "MinimumProtocolVersion" not in certificate


def test_geo_restriction_follows_config(with_domain_and_geo: tuple[Template, Template]) -> None:
    _, web = with_domain_and_geo
    (distribution,) = web.find_resources("AWS::CloudFront::Distribution").values()
    geo = distribution["Properties"]["DistributionConfig"]["Restrictions"]["GeoRestriction"]
    assert geo == {"Locations": ["DE", "FR"], "RestrictionType": "whitelist"}


def test_a_body_limit_below_the_longest_message_is_refused() -> None:
    edge = dataclasses.replace(STAGES["prod"].edge, max_chat_body_bytes=2_000)
    with pytest.raises(ValueError, match="max_message_chars"):
        dataclasses.replace(STAGES["prod"], edge=edge)


def test_rotating_the_origin_verify_value_changes_both_sides_in_one_deploy() -> None:
    app = cdk.App(context=cdk_context(), builtin_cloud_formation_validation=False)
    bumped = dataclasses.replace(STAGES["dev"], origin_verify_generation=2)
    stage = build_stages(app, [bumped])["dev"]
    (distribution,) = Template.from_stack(stage.web).find_resources("AWS::CloudFront::Distribution").values()
    (acl,) = Template.from_stack(stage.service).find_resources("AWS::WAFv2::WebACL").values()
    assert "generation 2" in distribution["Properties"]["DistributionConfig"]["Comment"]
    assert "generation 2" in acl["Properties"]["Description"]


def test_both_sides_read_the_same_origin_verify_secret(stage: SynthesizedStage) -> None:
    secret_id, _ = only_resource(stage.service, "AWS::SecretsManager::Secret")
    _, acl = only_resource(stage.service, "AWS::WAFv2::WebACL")
    assert secret_id in json.dumps(acl["Properties"]["Rules"])
    origin_headers = [h for o in _distribution(stage)["Origins"] for h in o.get("OriginCustomHeaders", [])]
    assert secret_id in json.dumps(origin_headers)  # via the service stack's output of that secret


def test_hashed_assets_are_cached_for_a_year_and_the_entry_never(stage: SynthesizedStage) -> None:
    deployments = stage.web.find_resources("Custom::CDKBucketDeployment")
    by_prefix = {
        d["Properties"].get("DestinationBucketKeyPrefix", ""): d["Properties"] for d in deployments.values()
    }
    assets, entry = by_prefix["assets/"], by_prefix[""]
    assert assets["SystemMetadata"]["cache-control"] == "public, max-age=31536000, immutable"
    assert entry["SystemMetadata"]["cache-control"] == "no-cache"
    assert assets["Prune"] is False
    assert entry["Prune"] is False
    assert sorted(entry["DistributionPaths"]) == ["/", "/config.json", "/index.html"]
    assert "DistributionPaths" not in assets


def test_the_built_page_references_only_hashed_assets(tmp_path: Any) -> None:
    from stacks.page_build import build_site

    hashed = build_site(out=tmp_path)
    index = (tmp_path / "entry" / "index.html").read_text()
    for name, path in hashed.items():
        assert f'"/{path}"' in index
        assert f'"{name}"' not in index
        assert (tmp_path / path).is_file()
    assert build_site(out=tmp_path) == hashed  # deterministic: the same sources, the same names
