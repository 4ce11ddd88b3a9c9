"""The role GitHub Actions deploys a stage with: trusted only for this repository's jobs in the stage's
GitHub environment, able only to assume the CDK bootstrap roles, deployed apart from the application."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from scripts.check_deployable import main
from stacks.config import STAGES
from stacks.config_delivery import DeliveryConfig
from stacks.delivery_stack import DeliveryStack
from stacks.stage import APPLICATION_STACKS, ChatbotStage
from tests.infra.conftest import REPO_ROOT, SynthesizedStage, only_resource


def _role(template: Template) -> dict[str, Any]:
    return dict(only_resource(template, "AWS::IAM::Role")[1]["Properties"])


def test_only_this_repositorys_jobs_in_the_stages_environment_may_assume_the_role(
    stage: SynthesizedStage,
) -> None:
    (statement,) = _role(stage.delivery)["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Condition"] == {
        "StringEquals": {
            "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
            "token.actions.githubusercontent.com:sub": (
                f"repo:{stage.config.delivery.github_repository}:environment:{stage.config.name}"
            ),
        }
    }
    assert "*" not in json.dumps(statement["Condition"])  # no branch, fork or environment slips through
    _, provider = only_resource(stage.delivery, "AWS::IAM::OIDCProvider")
    assert provider["Properties"]["Url"] == "https://token.actions.githubusercontent.com"
    assert provider["Properties"]["ClientIdList"] == ["sts.amazonaws.com"]
    assert provider["DeletionPolicy"] == "Retain"
    assert _role(stage.delivery)["MaxSessionDuration"] == 3600


def _managed_policy(template: Template, logical_prefix: str) -> dict[str, Any]:
    (found,) = [
        policy
        for logical_id, policy in template.find_resources("AWS::IAM::ManagedPolicy").items()
        if logical_id.startswith(logical_prefix)
    ]
    return dict(found)


def test_the_role_has_two_managed_policies_and_nothing_else(stage: SynthesizedStage) -> None:
    assert len(stage.delivery.find_resources("AWS::IAM::ManagedPolicy")) == 2
    assert not stage.delivery.find_resources("AWS::IAM::Policy")


def test_after_a_deploy_the_role_may_read_the_stage_outputs_and_only_the_tagged_key(
    stage: SynthesizedStage,
) -> None:
    statements = _managed_policy(stage.delivery, "VerifyDeployedStage")["Properties"]["PolicyDocument"][
        "Statement"
    ]
    by_action = {s["Action"]: s for s in statements}
    assert set(by_action) == {"cloudformation:DescribeStacks", "apigateway:GET"}
    stacks = json.dumps(by_action["cloudformation:DescribeStacks"]["Resource"])
    name = stage.config.name
    assert f":stack/{name}-ChatbotService/*" in stacks
    assert f":stack/{name}-ChatbotWeb/*" in stacks
    assert f"cloudformation:{stage.config.region}:" in stacks
    keys = by_action["apigateway:GET"]
    assert json.dumps(keys["Resource"]).endswith(f':apigateway:{stage.config.region}::/apikeys/*"')
    # The stage's own name: a role of one stage cannot read another stage's key in the same account.
    assert keys["Condition"] == {"StringEquals": {"aws:ResourceTag/chatbot-verification": name}}
    # ... and that tag is on the stage's default key alone.
    tagged = [
        logical_id
        for logical_id, key in stage.service.find_resources("AWS::ApiGateway::ApiKey").items()
        if {"Key": "chatbot-verification", "Value": name} in key["Properties"].get("Tags", [])
    ]
    assert len(tagged) == 1
    assert "VerificationKey" in tagged[0]


def test_the_role_may_only_assume_the_cdk_bootstrap_roles(stage: SynthesizedStage) -> None:
    role = _role(stage.delivery)
    assert "Policies" not in role  # nothing inline
    policy = _managed_policy(stage.delivery, "AssumeBootstrapRoles")
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Allow"
    assert sorted(statement["Action"]) == ["sts:AssumeRole", "sts:TagSession"]
    names = [re.sub(r"^.*:role/", "", json.dumps(r)).rstrip('"]}') for r in statement["Resource"]]
    account = stage.config.account
    assert sorted(names) == sorted(
        f"cdk-hnb659fds-{kind}-role-{account}-{region}"
        for kind in ("deploy", "file-publishing", "image-publishing", "lookup")
        for region in {stage.config.region, "us-east-1"}
    )
    assert not stage.delivery.find_resources("AWS::IAM::Policy")
    assert "ManagedPolicyArns" not in role  # no AWS managed policy, administrator or otherwise


def test_an_account_with_a_provider_already_references_it_instead() -> None:
    config = dataclasses.replace(STAGES["dev"], delivery=DeliveryConfig(create_oidc_provider=False))
    stack = DeliveryStack(cdk.App(), "Delivery", config=config, env=config.environment)
    template = Template.from_stack(stack)
    assert not template.find_resources("AWS::IAM::OIDCProvider")
    (statement,) = _role(template)["AssumeRolePolicyDocument"]["Statement"]
    assert "oidc-provider/token.actions.githubusercontent.com" in json.dumps(statement["Principal"])


@pytest.mark.parametrize("repository", ["no-slash", "owner/name/extra", "owner/*"])
def test_a_repository_that_is_not_exactly_owner_and_name_is_refused(repository: str) -> None:
    with pytest.raises(ValueError, match="github_repository"):
        dataclasses.replace(STAGES["dev"], delivery=DeliveryConfig(github_repository=repository))


def test_the_placeholder_repository_cannot_be_deployed_but_the_application_can() -> None:
    assert main(["check_deployable", "dev", "--delivery"]) == 1
    assert main(["check_deployable", "dev"]) == 0
    real = dataclasses.replace(STAGES["dev"], delivery=DeliveryConfig(github_repository="acme/chatbot"))
    assert real.delivery_problems == []


def test_make_deploy_leaves_the_delivery_stack_alone(synthesized: dict[str, SynthesizedStage]) -> None:
    stage: ChatbotStage = next(iter(synthesized.values())).stage
    stacks = {child.node.id for child in stage.node.children if isinstance(child, cdk.Stack)}
    assert stacks == {*APPLICATION_STACKS, "ChatbotDelivery"}
    makefile = Path(REPO_ROOT / "Makefile").read_text()
    (listed,) = re.findall(r"APP_STACKS = \$\(foreach s,([^,]+),", makefile)
    assert tuple(listed.split()) == APPLICATION_STACKS
    assert "deploy '$(STAGE)/ChatbotDelivery'" in makefile
