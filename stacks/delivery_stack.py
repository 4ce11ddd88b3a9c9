"""How GitHub Actions deploys a stage, with no long-lived AWS key anywhere: the account trusts GitHub's
OpenID Connect tokens, and one role per stage may be assumed only by a workflow job of this repository
running in the stage's GitHub environment (the token's ``sub`` claim). The role may do one thing:
assume the CDK bootstrap roles of this account (``cdk-hnb659fds-*``), which is what `cdk deploy` does;
what those may do is the bootstrap's business, not an administrator grant here. After a deploy the same
job checks the stage (make smoke, make integ): for that it may read the outputs of the stage's service and
web stacks, and the value of the one API key tagged for it (the stage's verification key).

Deployed once per account, with an administrator's credentials: `make deploy-delivery STAGE=...`
(README, "Delivery"). `make deploy` leaves it alone.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct

from stacks.config import StageConfig
from stacks.config_delivery import (
    CDK_QUALIFIER,
    GITHUB_OIDC_AUDIENCE,
    GITHUB_OIDC_URL,
    VERIFICATION_KEY_TAG,
    VERIFIED_STACKS,
)
from stacks.nag import acknowledge

TOKEN_HOST = GITHUB_OIDC_URL.removeprefix("https://")


def subject_of(config: StageConfig) -> str:
    """The ``sub`` claim of a job of this repository that runs in the stage's environment."""
    return f"repo:{config.delivery.github_repository}:environment:{config.github_environment}"


BOOTSTRAP_ROLES = ("deploy", "file-publishing", "image-publishing", "lookup")


def bootstrap_role_arns(stack: cdk.Stack, config: StageConfig) -> list[str]:
    """The roles `cdk bootstrap` makes in each region the stage deploys to (cdk-<qualifier>-<kind>-role-
    <account>-<region>)."""
    regions = sorted({config.region, "us-east-1"})
    return [
        f"arn:{stack.partition}:iam::{stack.account}:role/cdk-{CDK_QUALIFIER}-{kind}-role-{stack.account}-{region}"
        for region in regions
        for kind in BOOTSTRAP_ROLES
    ]


def verification_resources(partition: str, account: str, config: StageConfig) -> tuple[list[str], str]:
    """(the stacks whose outputs the tests read, the API keys), as ARN patterns."""
    stacks = [
        f"arn:{partition}:cloudformation:{config.region}:{account}:stack/{config.name}-{name}/*"
        for name in VERIFIED_STACKS
    ]
    return stacks, f"arn:{partition}:apigateway:{config.region}::/apikeys/*"


def verification_statements(stack: cdk.Stack, config: StageConfig) -> list[iam.PolicyStatement]:
    """The stage's stack outputs (its URL and its verification key's id), and that key's value."""
    stacks, keys = verification_resources(stack.partition, stack.account, config)
    return [
        iam.PolicyStatement(actions=["cloudformation:DescribeStacks"], resources=stacks),
        # GetApiKey is a GET on /apikeys/<id>; the key's id is known only once the service stack exists,
        # so the grant is limited by the key's tag instead: a client's key stays unreadable.
        iam.PolicyStatement(
            actions=["apigateway:GET"],
            resources=[keys],
            conditions={"StringEquals": {f"aws:ResourceTag/{VERIFICATION_KEY_TAG}": config.name}},
        ),
    ]


def acknowledge_verification_wildcards(
    policy: iam.ManagedPolicy, stack: cdk.Stack, config: StageConfig
) -> None:
    # cdk-nag names the finding by the ARN with the partition resolved.
    stacks, keys = verification_resources("aws", stack.account, config)
    for resource in stacks:
        acknowledge(
            policy,
            f"AwsSolutions-IAM5[Resource::{resource}]",
            "DescribeStacks on one named stack of this stage; the trailing /* is the stack's id, which "
            "CloudFormation makes up at creation and this stack cannot know.",
        )
    acknowledge(
        policy,
        f"AwsSolutions-IAM5[Resource::{keys}]",
        "GET on API keys only where the key carries this stage's verification tag (aws:ResourceTag "
        "condition), which only the stage's verification key has; its id is made at deploy time.",
    )


class DeliveryStack(cdk.Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        if config.delivery.create_oidc_provider:
            provider_arn = iam.OidcProviderNative(
                self,
                "GitHub",
                url=GITHUB_OIDC_URL,
                client_ids=[GITHUB_OIDC_AUDIENCE],
                # The account keeps its provider if this stack goes: other stacks' roles may trust it.
                removal_policy=cdk.RemovalPolicy.RETAIN,
            ).oidc_provider_arn
        else:
            provider_arn = f"arn:{self.partition}:iam::{self.account}:oidc-provider/{TOKEN_HOST}"

        self.deploy_role = iam.Role(
            self,
            "DeployRole",
            description=f"GitHub Actions deploys stage {config.name} of {config.delivery.github_repository}",
            assumed_by=iam.WebIdentityPrincipal(
                provider_arn,
                conditions={
                    "StringEquals": {
                        f"{TOKEN_HOST}:aud": GITHUB_OIDC_AUDIENCE,
                        # Exact: no wildcard, so no branch, fork or other environment matches.
                        f"{TOKEN_HOST}:sub": subject_of(config),
                    }
                },
            ),
            max_session_duration=cdk.Duration.hours(config.delivery.max_session_hours),
        )
        # The stage's stacks live in its region and in us-east-1 (the edge stack): the four bootstrap roles
        # of this account in those regions, by name, and nothing else. A managed policy of this stack's
        # own, so that the grant is a reviewable resource rather than an inline policy.
        iam.ManagedPolicy(
            self,
            "AssumeBootstrapRoles",
            description=f"Only the CDK bootstrap roles of this account, for the {config.name} deploy role",
            statements=[
                iam.PolicyStatement(
                    actions=["sts:AssumeRole", "sts:TagSession"],
                    resources=bootstrap_role_arns(self, config),
                )
            ],
            roles=[self.deploy_role],
        )
        verify = iam.ManagedPolicy(
            self,
            "VerifyDeployedStage",
            description=f"Read what the {config.name} smoke and contract tests need, after a deploy",
            statements=verification_statements(self, config),
            roles=[self.deploy_role],
        )
        acknowledge_verification_wildcards(verify, self, config)
        cdk.CfnOutput(
            self,
            "DeployRoleArn",
            value=self.deploy_role.role_arn,
            description=f"role-to-assume of the {config.github_environment} GitHub environment",
        )
