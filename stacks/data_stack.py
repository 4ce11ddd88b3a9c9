"""Stateful resources of one stage. Their logical IDs are pinned by tests/infra/test_data_stack.py."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from constructs import Construct

from stacks.config import StageConfig
from stacks.constructs.audit_trail import AuditTrail
from stacks.constructs.conversation_store import ConversationStore
from stacks.constructs.llm_secret import LlmApiKeySecret
from stacks.constructs.log_encryption import LogKey
from stacks.constructs.runtime_controls import RuntimeControls
from stacks.constructs.table_backups import TableBackups
from stacks.constructs.user_directory import UserDirectory


class DataStack(cdk.Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, termination_protection=config.termination_protection, **kwargs)

        self.key = kms.Key(
            self,
            "DataKey",
            description=f"Encrypts the chatbot's {config.name} conversation table and LLM secret",
            enable_key_rotation=True,
            removal_policy=config.removal_policy,
        )
        self.conversations = ConversationStore(
            self,
            "Conversations",
            key=self.key,
            removal_policy=config.removal_policy,
            deletion_protection=config.deletion_protection,
        )
        self.llm_secret = LlmApiKeySecret(
            self, "LlmApiKey", key=self.key, removal_policy=config.removal_policy
        ).secret
        self.runtime_controls = RuntimeControls(self, "RuntimeControls", removal_policy=config.removal_policy)
        self.backups = (
            TableBackups(
                self,
                "Backups",
                table=self.conversations.table,
                key=self.key,
                retention_days=config.backup_retention_days,
            )
            if config.backup_retention_days
            else None
        )
        self.audit_trail = (
            AuditTrail(
                self,
                "AuditTrail",
                stage_name=config.name,
                retention_days=config.audit_trail_retention_days,
                table=self.conversations.table,
                log_key=self._log_key(config),
            )
            if config.audit_trail_retention_days
            else None
        )
        # People's accounts are data: the user pool lives here, beside the table, with the same policy.
        self.users = (
            UserDirectory(
                self,
                "Users",
                stage=config.name,
                removal_policy=config.removal_policy,
                sign_up=config.sign_up,
                log_key=self._log_key(config) if config.sign_up.mode == "email_domains" else None,
            )
            if config.browser_sign_in
            else None
        )
        cdk.CfnOutput(self, "ConversationTableName", value=self.conversations.table.table_name)
        cdk.CfnOutput(self, "LlmSecretArn", value=self.llm_secret.secret_arn)
        cdk.CfnOutput(
            self,
            "RuntimeControlsParameter",
            value=self.runtime_controls.parameter.parameter_name,
            description="python -m scripts.controls --stage <stage> show (docs/runbooks/)",
        )
        if self.users:
            cdk.CfnOutput(
                self,
                "UserPoolId",
                value=self.users.user_pool.user_pool_id,
                description="aws cognito-idp admin-create-user --user-pool-id <this> ... (README)",
            )

    def _log_key(self, config: StageConfig) -> LogKey:
        """The stack's one log key (the sign-up check's logs, the audit trail's copy), made when needed."""
        found = self.node.try_find_child("LogKey")
        if isinstance(found, LogKey):
            return found
        return LogKey.of_stage(self, config, encrypts="sign-up check's and audit trail's logs")
