"""Cognito sign-in for the chat page, where a stage turns it on (staging and prod)."""

from __future__ import annotations

import json

from tests.infra.conftest import SynthesizedStage, only_resource


def test_the_user_pool_exists_only_where_sign_in_is_on(stage: SynthesizedStage) -> None:
    pools = stage.data.find_resources("AWS::Cognito::UserPool")
    assert len(pools) == (1 if stage.config.browser_sign_in else 0)
    clients = stage.web.find_resources("AWS::Cognito::UserPoolClient")
    assert len(clients) == (1 if stage.config.browser_sign_in else 0)


def test_the_user_pool_requires_strong_passwords_totp_mfa_and_threat_protection(
    stage: SynthesizedStage,
) -> None:
    if not stage.config.browser_sign_in:
        return
    _, pool = only_resource(stage.data, "AWS::Cognito::UserPool")
    props = pool["Properties"]
    policy = props["Policies"]["PasswordPolicy"]
    assert policy["MinimumLength"] >= 12
    assert all(
        policy[k] for k in ("RequireLowercase", "RequireUppercase", "RequireNumbers", "RequireSymbols")
    )
    assert props["MfaConfiguration"] == "ON"
    assert props["EnabledMfas"] == ["SOFTWARE_TOKEN_MFA"]
    assert props["UserPoolTier"] == "PLUS"
    assert props["UserPoolAddOns"]["AdvancedSecurityMode"] == "ENFORCED"
    assert (pool["DeletionPolicy"] == "Retain") == (stage.config.name == "prod")


def test_the_page_client_is_public_with_pkce_code_flow_back_to_the_page(stage: SynthesizedStage) -> None:
    if not stage.config.browser_sign_in:
        return
    _, client = only_resource(stage.web, "AWS::Cognito::UserPoolClient")
    props = client["Properties"]
    assert props.get("GenerateSecret") is False
    assert props["AllowedOAuthFlows"] == ["code"]
    assert set(props["AllowedOAuthScopes"]) == {"openid", "email"}
    domain = stage.config.edge.custom_domain
    if domain:
        assert props["CallbackURLs"] == [f"https://{domain.domain_name}/"]
    else:
        assert "Distribution" in json.dumps(props["CallbackURLs"])
    assert props["PreventUserExistenceErrors"] == "ENABLED"


def test_the_page_learns_where_to_sign_in_from_config_json(stage: SynthesizedStage) -> None:
    deployments = stage.web.find_resources("Custom::CDKBucketDeployment")
    (entry,) = [d for d in deployments.values() if "DistributionPaths" in d["Properties"]]
    markers = json.dumps(entry["Properties"].get("SourceMarkers", []))
    if stage.config.browser_sign_in:
        assert "PageClient" in markers  # the client id, filled in at deploy time
    else:
        assert "PageClient" not in markers


def test_the_csp_lets_the_page_reach_the_sign_in_domain_only_where_needed(stage: SynthesizedStage) -> None:
    _, policy = only_resource(stage.web, "AWS::CloudFront::ResponseHeadersPolicy")
    csp = json.dumps(policy["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"])
    assert ("amazoncognito.com" in csp) == stage.config.browser_sign_in


def test_the_sign_in_domain_serves_the_classic_hosted_ui(stage: SynthesizedStage) -> None:
    """Managed login v2 serves nothing to a client without a branding resource; v1 needs none."""
    domains = stage.data.find_resources("AWS::Cognito::UserPoolDomain")
    for domain in domains.values():
        assert domain["Properties"].get("ManagedLoginVersion", 1) == 1
    assert len(domains) == (1 if stage.config.browser_sign_in else 0)
