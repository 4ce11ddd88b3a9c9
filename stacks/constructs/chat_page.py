"""The chat page in its bucket: hashed assets, then the entry and its config.json, then an
invalidation of the entry only; and, where the stage has browser sign-in, the page's Cognito client."""

from __future__ import annotations

import copy
from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3deploy
from constructs import Construct, IConstruct, IValidation

from stacks.config import StageConfig
from stacks.constructs.log_encryption import LogKey
from stacks.constructs.user_directory import UserDirectory
from stacks.nag import HIPAA, NIST, PCI, acknowledge, acknowledge_rules, skip_checkov
from stacks.page_build import built_site

INVALIDATION_ACTIONS = ("cloudfront:GetInvalidation", "cloudfront:CreateInvalidation")


class ChatPage(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        bucket: s3.IBucket,
        distribution: cloudfront.IDistribution,
        users: UserDirectory | None,
        log_key: LogKey,
    ) -> None:
        super().__init__(scope, construct_id)
        self._bucket = bucket
        self._distribution = distribution
        # CDK's copy function (one per stack, shared by both deployments) logs here.
        self._logs = log_key.log_group(self, "DeploymentLogs")
        self._deploy_page(self._page_config(config, users))

    def _page_config(self, config: StageConfig, users: UserDirectory | None) -> dict[str, Any]:
        """config.json for the page: where to sign in (null where the stage has no browser sign-in), and
        the message length limit the page counts against, as the API does."""
        if users is None:
            return {"signIn": None, "maxMessageChars": config.max_message_chars}
        domain = config.edge.custom_domain
        page_url = f"https://{domain.domain_name if domain else self._distribution.distribution_domain_name}/"
        # Here, not beside the pool: its callback is this stack's distribution, so the data stack
        # would otherwise depend on this one.
        client = cognito.UserPoolClient(
            self,
            "PageClient",
            user_pool=users.user_pool,
            generate_secret=False,  # a public client: authorization code with PKCE
            auth_flows=cognito.AuthFlow(user_srp=True),
            o_auth=cognito.OAuthSettings(
                flows=cognito.OAuthFlows(authorization_code_grant=True),
                scopes=[cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL],
                callback_urls=[page_url],
                logout_urls=[page_url],
            ),
            supported_identity_providers=[cognito.UserPoolClientIdentityProvider.COGNITO],
            prevent_user_existence_errors=True,
            id_token_validity=cdk.Duration.hours(1),
            access_token_validity=cdk.Duration.hours(1),
            refresh_token_validity=cdk.Duration.days(1),
        )
        return {
            "signIn": {
                "domain": users.domain_url,
                "clientId": client.user_pool_client_id,
                "redirectUri": page_url,
            },
            "maxMessageChars": config.max_message_chars,
        }

    def _deploy_page(self, page_config: dict[str, Any]) -> None:
        """Hashed assets first (a year, immutable), then index.html (never cached), then invalidate the
        entry only: a viewer never gets an index that points at assets not yet uploaded."""
        site = built_site()
        assets = s3deploy.BucketDeployment(
            self,
            "PageAssets",
            sources=[s3deploy.Source.asset(str(site / "assets"))],
            destination_bucket=self._bucket,
            destination_key_prefix="assets/",
            cache_control=[
                s3deploy.CacheControl.set_public(),
                s3deploy.CacheControl.max_age(cdk.Duration.days(365)),
                s3deploy.CacheControl.immutable(),
            ],
            prune=False,  # pages still open in browsers keep the assets they were built with
            log_group=self._logs,
        )
        entry = s3deploy.BucketDeployment(
            self,
            "PageEntry",
            sources=[
                s3deploy.Source.asset(str(site / "entry")),
                s3deploy.Source.json_data("config.json", page_config),
            ],
            destination_bucket=self._bucket,
            cache_control=[s3deploy.CacheControl.no_cache()],
            prune=False,
            distribution=self._distribution,
            distribution_paths=["/", "/index.html", "/config.json"],
            log_group=self._logs,
        )
        entry.node.add_dependency(assets)
        handler = self._deployment_handler()
        scope_invalidation_to(handler, self._distribution)
        self._acknowledge_deployment_handler(handler)

    def _deployment_handler(self) -> IConstruct:
        """The copy function CDK adds for BucketDeployment, once per stack, at the stack's top level."""
        stack = cdk.Stack.of(self)
        return next(c for c in stack.node.children if c.node.id.startswith("Custom::CDKBucketDeployment"))

    def _acknowledge_deployment_handler(self, handler: IConstruct) -> None:
        """The copy function runs only during deploys, on CDK's code."""
        stack = cdk.Stack.of(self)
        role = handler.node.find_child("ServiceRole")
        policy = role.node.find_child("DefaultPolicy")
        why = "CDK's BucketDeployment copy function, invoked by CloudFormation only while the page deploys"
        # How the staged-asset bucket's ARN is written depends on a feature flag (set in cdk.json).
        literal = cdk.FeatureFlags.of(stack).is_enabled("@aws-cdk/core:enablePartitionLiterals")
        partition = "aws" if literal else "<AWS::Partition>"
        acknowledge(
            role,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
            f"{why}; the AWS-managed basic role only lets it write its own logs.",
        )
        for finding in (
            "Action::s3:Abort*",
            "Action::s3:DeleteObject*",
            "Action::s3:GetBucket*",
            "Action::s3:GetObject*",
            "Action::s3:List*",
            "Resource::<SiteE53D7754.Arn>/*",
            f"Resource::arn:{partition}:s3:::cdk-hnb659fds-assets-{stack.account}-{stack.region}/*",
        ):
            acknowledge(
                policy,
                f"AwsSolutions-IAM5[{finding}]",
                f"{why}: CDK grants it read on the staged asset and write on the site bucket's objects "
                "(object-level actions need the bucket's /* resource); invalidation is on this "
                "distribution only.",
            )
        acknowledge_rules(
            policy,
            "IAMNoInlinePolicy",
            (NIST, HIPAA, PCI),
            f"{why}: CDK attaches its grants as the role's own policy; the role belongs to this one "
            "function, so an inline policy cannot be shared or attached elsewhere by mistake.",
        )
        for rule in ("AwsSolutions-L1", "Serverless-LambdaLatestVersion"):
            acknowledge(handler, rule, f"{why}; its runtime is chosen and updated by aws-cdk-lib.")
        acknowledge(handler, "Serverless-LambdaTracing", f"{why}; a deploy step, never part of a request.")
        rollback = f"{why}; a failure fails the deploy, which rolls back."
        acknowledge_rules(handler, "LambdaDLQ", ("Serverless", NIST, HIPAA), rollback, checkov="CKV_AWS_116")
        public_apis = f"{why}; it reaches only the S3 and CloudFront APIs and no private network resource."
        acknowledge_rules(handler, "LambdaInsideVPC", (NIST, HIPAA, PCI), public_apis, checkov="CKV_AWS_117")
        one_at_a_time = f"{why}; CloudFormation calls it once per page deployment, never concurrently."
        acknowledge_rules(handler, "LambdaConcurrency", (NIST, HIPAA), one_at_a_time, checkov="CKV_AWS_115")
        skip_checkov(
            handler,
            "CKV_AWS_173",
            f"{why}; aws-cdk-lib sets its environment (no secret: a mount path at most), encrypted at rest "
            "by Lambda.",
        )


def narrow_invalidation(document: dict[str, Any], distribution_arn: Any) -> dict[str, Any]:
    """The rendered policy document with CDK's CloudFront invalidation statement on one distribution."""
    narrowed = 0
    for statement in document["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        if any(action in INVALIDATION_ACTIONS for action in actions):
            if set(actions) - set(INVALIDATION_ACTIONS) or statement.get("Resource") != "*":
                raise ValueError(f"unexpected invalidation statement, not narrowed: {statement}")
            statement["Resource"] = distribution_arn
            narrowed += 1
    if narrowed != 1:
        raise ValueError(f"expected one CloudFront invalidation statement, found {narrowed}")
    return document


@jsii.implements(IValidation)
class _PolicyUnchangedSince:
    """Fails the synth if the copy function's policy gained statements after it was narrowed, which the
    narrowed copy would silently drop."""

    def __init__(self, policy: iam.Policy, snapshot: dict[str, Any]) -> None:
        self._policy = policy
        self._snapshot = snapshot

    def validate(self) -> list[str]:
        if cdk.Stack.of(self._policy).resolve(self._policy.document) == self._snapshot:
            return []
        return [
            f"{self._policy.node.path} changed after its CloudFront invalidation was narrowed to one "
            "distribution; call scope_invalidation_to() after the last grant to this role"
        ]


def scope_invalidation_to(handler: IConstruct, distribution: cloudfront.IDistribution) -> None:
    """Narrow the copy function's CloudFront invalidation permissions from every distribution of the
    account (BucketDeployment grants them on "*") to this one. The policy's property itself is rewritten,
    not overridden, so cdk-nag and every scanner see what deploys; call after the last BucketDeployment."""
    policy = handler.node.find_child("ServiceRole").node.find_child("DefaultPolicy")
    assert isinstance(policy, iam.Policy)
    cfn_policy = policy.node.default_child
    assert isinstance(cfn_policy, iam.CfnPolicy)
    stack = cdk.Stack.of(handler)
    arn = f"arn:{stack.partition}:cloudfront::{stack.account}:distribution/{distribution.distribution_id}"
    snapshot = stack.resolve(policy.document)
    cfn_policy.policy_document = narrow_invalidation(copy.deepcopy(snapshot), stack.resolve(arn))
    policy.node.add_validation(_PolicyUnchangedSince(policy, snapshot))
