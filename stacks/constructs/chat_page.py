"""The chat page in its bucket: hashed assets, then the entry and its config.json, then an
invalidation of the entry only; and, where the stage has browser sign-in, the page's Cognito client."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3deploy
from constructs import Construct

from scripts.build_web import built_site
from stacks.config import StageConfig
from stacks.constructs.user_directory import UserDirectory
from stacks.nag import acknowledge


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
    ) -> None:
        super().__init__(scope, construct_id)
        self._bucket = bucket
        self._distribution = distribution
        self._deploy_page(self._page_config(config, users))

    def _page_config(self, config: StageConfig, users: UserDirectory | None) -> dict[str, Any]:
        """config.json for the page: where to sign in, or null where the stage has no browser sign-in."""
        if users is None:
            return {"signIn": None}
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
            }
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
        )
        entry.node.add_dependency(assets)
        self._acknowledge_deployment_handler()

    def _acknowledge_deployment_handler(self) -> None:
        """The copy function CDK adds for BucketDeployment: runs only during deploys, on CDK's code."""
        stack = cdk.Stack.of(self)
        # CDK creates this function once per stack, at the stack's top level.
        handler = next(c for c in stack.node.children if c.node.id.startswith("Custom::CDKBucketDeployment"))
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
            "Resource::*",
        ):
            acknowledge(
                policy,
                f"AwsSolutions-IAM5[{finding}]",
                f"{why}: CDK grants it read on the staged asset, write on the site bucket's objects and "
                "CloudFront invalidation, which supports no resource-level permissions.",
            )
        for rule in ("AwsSolutions-L1", "Serverless-LambdaLatestVersion"):
            acknowledge(handler, rule, f"{why}; its runtime is chosen and updated by aws-cdk-lib.")
        acknowledge(handler, "Serverless-LambdaDLQ", f"{why}; a failure fails the deploy, which rolls back.")
        acknowledge(handler, "Serverless-LambdaTracing", f"{why}; a deploy step, never part of a request.")
