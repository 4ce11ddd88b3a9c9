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


def test_the_role_may_only_assume_the_cdk_bootstrap_roles(stage: SynthesizedStage) -> None:
    role = _role(stage.delivery)
    assert "Policies" not in role  # nothing inline
    policies = stage.delivery.find_resources("AWS::IAM::ManagedPolicy")
    (policy,) = policies.values()
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
