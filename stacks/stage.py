"""One deployable copy of the chatbot: its application stacks (`make deploy`), and the role GitHub Actions
deploys them with (`make deploy-delivery`, once per account)."""

from __future__ import annotations

from collections.abc import Iterable

import aws_cdk as cdk
from constructs import Construct

from stacks.config import StageConfig
from stacks.data_stack import DataStack
from stacks.delivery_stack import DeliveryStack
from stacks.edge_stack import EdgeStack
from stacks.edge_watch_stack import EdgeWatchStack
from stacks.service_stack import ServiceStack
from stacks.web_stack import WebStack


class ChatbotStage(cdk.Stage):
    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig) -> None:
        super().__init__(scope, construct_id, env=config.environment)
        cdk.Tags.of(self).add("project", "chatbot")
        cdk.Tags.of(self).add("stage", config.name)

        self.data = DataStack(
            self, "ChatbotData", config=config, description=f"Chatbot {config.name}: stateful"
        )
        self.service = ServiceStack(
            self,
            "ChatbotService",
            config=config,
            table=self.data.conversations.table,
            data_key=self.data.key,
            llm_secret=self.data.llm_secret,
            runtime_controls=self.data.runtime_controls,
            backup_vault=self.data.backups.vault if self.data.backups else None,
            user_pool=self.data.users.user_pool if self.data.users else None,
            description=f"Chatbot {config.name}: API, Lambda, WAF and alarms",
        )
        self.edge = EdgeStack(
            self,
            "ChatbotEdge",
            config=config,
            description=f"Chatbot {config.name}: CloudFront web ACL (us-east-1)",
        )
        canary_key = self.service.api_keys.canary_key
        self.web = WebStack(
            self,
            "ChatbotWeb",
            config=config,
            api=self.service.api,
            origin_verify=self.service.origin_verify,
            web_acl_arn=self.edge.web_acl.attr_arn,
            certificate=self.edge.certificate,
            users=self.data.users,
            alarm_topic=self.service.operations.topic,
            canary_key_id=canary_key.key_id if canary_key else None,
            description=f"Chatbot {config.name}: chat page, CloudFront"
            + (", the Synthetics canary" if canary_key else ""),
        )
        self.edge_watch = EdgeWatchStack(
            self,
            "ChatbotEdgeWatch",
            config=config,
            distribution_id=self.web.distribution.distribution_id,
            web_acl_name=self.edge.web_acl_name,
            description=f"Chatbot {config.name}: CloudFront and edge web ACL alarms, dashboard (us-east-1)",
        )
        self.edge_watch.add_stack_dependency(self.edge)  # it imports the web ACL's name by its export
        # Deployed once per account by an administrator (make deploy-delivery), never by make deploy.
        self.delivery = DeliveryStack(
            self,
            "ChatbotDelivery",
            config=config,
            description=f"Chatbot {config.name}: GitHub Actions deploy role (OpenID Connect)",
        )

    @property
    def stacks(self) -> list[cdk.Stack]:
        """Every stack of the stage, the delivery stack included: what the scanners read."""
        return [child for child in self.node.children if isinstance(child, cdk.Stack)]


APPLICATION_STACKS = ("ChatbotData", "ChatbotService", "ChatbotEdge", "ChatbotWeb", "ChatbotEdgeWatch")


def build_stages(app: cdk.App, configs: Iterable[StageConfig]) -> dict[str, ChatbotStage]:
    return {config.name: ChatbotStage(app, config.name, config=config) for config in configs}
