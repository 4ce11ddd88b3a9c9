"""Cognito sign-in for the chat page, where a stage turns it on (staging and prod)."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import aws_cdk as cdk
import pytest

from stacks.config import STAGES, SignUp
from stacks.constructs.sign_up_check import HANDLER_SOURCE
from stacks.stage import build_stages
from tests.infra.conftest import SynthesizedStage, cdk_context, only_resource


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


def _pool(stage: SynthesizedStage) -> dict:
    return only_resource(stage.data, "AWS::Cognito::UserPool")[1]["Properties"]


def test_prod_accounts_are_created_by_operators_only(synthesized: dict[str, SynthesizedStage]) -> None:
    prod = synthesized["prod"]
    assert prod.config.sign_up.mode == "admin_only"
    props = _pool(prod)
    assert props["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert "LambdaConfig" not in props
    associations = json.dumps(prod.service.find_resources("AWS::WAFv2::WebACLAssociation"))
    assert "UserPool" not in associations  # no web ACL needed where nobody can sign up


def test_an_allow_list_of_e_mail_domains_is_checked_before_sign_up(
    synthesized: dict[str, SynthesizedStage],
) -> None:
    staging = synthesized["staging"]
    assert staging.config.sign_up.mode == "email_domains"
    props = _pool(staging)
    assert props["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is False
    function_id = props["LambdaConfig"]["PreSignUp"]["Fn::GetAtt"][0]
    function = staging.data.to_json()["Resources"][function_id]["Properties"]
    # inline, so that changes to the chat code never touch the stateful stack
    assert function["Handler"] == "index.handler"
    assert function["Code"]["ZipFile"] == HANDLER_SOURCE.read_text()
    assert len(HANDLER_SOURCE.read_text()) < 4096  # CloudFormation's limit for inline code
    assert json.loads(function["Environment"]["Variables"]["ALLOWED_EMAIL_DOMAINS"]) == list(
        staging.config.sign_up.email_domains
    )
    assert "Layers" not in function  # standard library only
    staging.data.has_resource_properties(
        "AWS::Lambda::Permission",
        {"Action": "lambda:InvokeFunction", "Principal": "cognito-idp.amazonaws.com"},
    )


@pytest.fixture(scope="module")
def open_sign_up() -> SynthesizedStage:
    config = dataclasses.replace(
        STAGES["staging"], sign_up=SignUp(mode="open", requests_per_ip_per_5_minutes=60)
    )
    app = cdk.App(context=cdk_context(), builtin_cloud_formation_validation=False)
    stage = build_stages(app, [config])["staging"]
    return SynthesizedStage.of(config, stage)


def test_open_sign_up_puts_a_rate_limiting_web_acl_on_the_user_pool(open_sign_up: SynthesizedStage) -> None:
    assert _pool(open_sign_up)["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is False
    associations = open_sign_up.service.find_resources("AWS::WAFv2::WebACLAssociation")
    (to_pool,) = [
        a for a in associations.values() if "UserPool" in json.dumps(a["Properties"]["ResourceArn"])
    ]
    acl_id = to_pool["Properties"]["WebACLArn"]["Fn::GetAtt"][0]
    acl = open_sign_up.service.to_json()["Resources"][acl_id]["Properties"]
    rules = {rule["Name"]: rule for rule in acl["Rules"]}
    rate = rules["RateLimitPerIp"]["Statement"]["RateBasedStatement"]
    assert (rate["AggregateKeyType"], rate["Limit"]) == ("IP", 60)
    assert "ScopeDownStatement" not in rate  # every request to the pool
    assert {"AWSManagedRulesAmazonIpReputationList", "AWSManagedRulesAnonymousIpList"} <= set(rules)
    loggings = open_sign_up.service.find_resources("AWS::WAFv2::LoggingConfiguration")
    assert any(acl_id in json.dumps(c["Properties"]["ResourceArn"]) for c in loggings.values())


def test_open_sign_up_passes_every_nag_pack(open_sign_up: SynthesizedStage) -> None:
    from tests.infra.test_nag import _findings

    assert sorted(_findings(open_sign_up.stage)) == []


def test_config_refuses_open_sign_up_in_prod_and_a_domain_list_without_its_mode() -> None:
    with pytest.raises(ValueError, match="must not be 'open'"):
        dataclasses.replace(STAGES["prod"], sign_up=SignUp(mode="open"))
    with pytest.raises(ValueError, match="email_domains are required"):
        SignUp(mode="email_domains")
    with pytest.raises(ValueError, match="email_domains are required"):
        SignUp(mode="admin_only", email_domains=("acme.test",))
    with pytest.raises(ValueError, match="lower-case domain"):
        SignUp(mode="email_domains", email_domains=("Acme.Test",))


def test_config_json_gives_the_page_the_stages_message_limit(app: cdk.App, stage: SynthesizedStage) -> None:
    """The page counts a message as the API does, against the same limit."""
    # The client id is a deploy-time marker there (not JSON until the deployment fills it in).
    texts = [path.read_text() for path in Path(app.outdir).glob("asset.*/config.json")]
    limits = {int(found) for text in texts for found in re.findall(r'"maxMessageChars":\s*(\d+)', text)}
    assert stage.config.max_message_chars in limits
