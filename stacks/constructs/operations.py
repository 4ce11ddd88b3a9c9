"""The operations baseline: the stage's on-call topic (alarm_topic.py), the cost budget and, where config
says so, its action on the kill switch, and the rule that reports failed backups."""

from __future__ import annotations

from aws_cdk import aws_backup as backup
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from constructs import Construct

from stacks.config import StageConfig
from stacks.constructs.alarm_topic import OnCallTopic, allow_service_to_use_key
from stacks.constructs.budget_action import BudgetAction
from stacks.constructs.cost_budget import CostBudget, allow_budgets_to_publish
from stacks.constructs.log_encryption import LogKey
from stacks.constructs.runtime_controls import RuntimeControls
from stacks.nag import HIPAA, NIST, PCI, acknowledge, acknowledge_rules

# AWS Backup's job states that mean no recovery point was made.
FAILED_BACKUP_STATES = ("FAILED", "ABORTED", "EXPIRED")


class Operations(OnCallTopic):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        runtime_controls: RuntimeControls,
        log_key: LogKey,
    ) -> None:
        super().__init__(
            scope, construct_id, stage_name=config.name, emails=config.alarm_emails, display_name="alarms"
        )
        self._allow_budgets_to_publish()
        self.budget_action = (
            BudgetAction(
                self,
                "BudgetAction",
                config=config,
                key=self.key,
                alarm_topic=self.topic,
                runtime_controls=runtime_controls,
                log_key=log_key,
            )
            if config.budget_pauses_turns
            else None
        )
        budget = CostBudget(
            self,
            "Budget",
            stage=config.name,
            limit_usd=config.monthly_budget_usd,
            topic=self.topic,
            emails=config.alarm_emails,
            limit_reached_topic=self.budget_action.topic if self.budget_action else None,
        )
        # Budgets checks that it may publish when the budget is created: the permission is the topic
        # policy, which nothing else orders before the budget (the topic itself is already a Ref).
        budget.node.add_dependency(self.topic.node.find_child("Policy"))
        if self.budget_action:
            budget.node.add_dependency(self.budget_action.topic.node.find_child("Policy"))

    def watch_backups(self, vault: backup.IBackupVault) -> events.Rule:
        """A backup job of this stage's vault that failed, was aborted or expired unstarted: on-call hears
        at once (AWS Backup emits no CloudWatch alarm of its own)."""
        rule = events.Rule(
            self,
            "BackupJobFailed",
            description="A backup job of the conversation table's vault failed: tell on-call",
            event_pattern=events.EventPattern(
                source=["aws.backup"],
                detail_type=["Backup Job State Change"],
                detail={"state": list(FAILED_BACKUP_STATES), "backupVaultName": [vault.backup_vault_name]},
            ),
        )
        rule.add_target(
            targets.SnsTopic(
                self.topic,
                # Through a role of this rule's own: a topic policy for events.amazonaws.com would let any
                # account's rules publish to on-call (it takes no source condition from CDK).
                authorize_using_role=True,
                dead_letter_queue=self.undeliverable,
                message=events.RuleTargetInput.from_text(
                    f"Backup job {events.EventField.from_path('$.detail.backupJobId')} of "
                    f"{events.EventField.from_path('$.detail.resourceArn')} is "
                    f"{events.EventField.from_path('$.detail.state')}: "
                    f"{events.EventField.from_path('$.detail.statusMessage')} "
                    "(docs/runbooks/restore-from-backup.md, 'Backups that fail')."
                ),
            )
        )
        policy = rule.node.find_child("EventsRole").node.find_child("DefaultPolicy")
        acknowledge(
            policy,
            "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]",
            "The operations key only, which encrypts the on-call topic this rule's role publishes to: SNS "
            "needs data-key generation to encrypt a message.",
        )
        acknowledge_rules(
            policy,
            "IAMNoInlinePolicy",
            (NIST, HIPAA, PCI),
            "CDK writes the rule target's permission (publish to the on-call topic) into the role it "
            "creates for this one rule; no managed policy is attached, so nothing else can inherit it.",
        )
        return rule

    def _allow_budgets_to_publish(self) -> None:
        # As for CloudWatch: this account's budgets only.
        allow_service_to_use_key(self.key, "AllowThisAccountsBudgetsToUseTheKey", "budgets")
        allow_budgets_to_publish(self.topic)
