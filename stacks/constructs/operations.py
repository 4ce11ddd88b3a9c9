"""The operations baseline: the encrypted alarm topic (e-mail, undeliverable queue), the cost budget and,
where config says so, its action on the kill switch."""

from __future__ import annotations

import functools

import aws_cdk as cdk
from aws_cdk import aws_backup as backup
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from stacks.config import StageConfig
from stacks.constructs.budget_action import BudgetAction
from stacks.constructs.cost_budget import CostBudget
from stacks.constructs.log_encryption import LogKey
from stacks.constructs.runtime_controls import RuntimeControls
from stacks.nag import HIPAA, NIST, PCI, acknowledge, acknowledge_rules

# What a service needs of the topic's key to publish an encrypted message.
TOPIC_KEY_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey*")
# AWS Backup's job states that mean no recovery point was made.
FAILED_BACKUP_STATES = ("FAILED", "ABORTED", "EXPIRED")


class Operations(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        runtime_controls: RuntimeControls,
        log_key: LogKey,
    ) -> None:
        super().__init__(scope, construct_id)
        # A key of its own: CloudWatch must be allowed to encrypt messages to the topic, which the
        # AWS-managed SNS key does not allow.
        self.key = kms.Key(
            self,
            "TopicKey",
            description=f"Encrypts the chatbot's {config.name} alarm topic",
            enable_key_rotation=True,
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        account = cdk.Stack.of(self).account
        # The statement AWS documents for alarms on encrypted topics, for this account's alarms only
        # (SNS documents aws:SourceAccount on the key policy for service sources; the topic policy
        # below narrows publishing to this account's alarms as well).
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowThisAccountsCloudWatchAlarmsToUseTheKey",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=list(TOPIC_KEY_ACTIONS),
                resources=["*"],  # in a key policy, "*" means this key
                conditions={"StringEquals": {"aws:SourceAccount": account}},
            )
        )
        self.topic = sns.Topic(
            self,
            "AlarmTopic",
            display_name=f"Chatbot {config.name} alarms",
            master_key=self.key,
            enforce_ssl=True,
        )
        # enforce_ssl writes a topic policy, which replaces SNS's default one: without this statement
        # CloudWatch could no longer publish alarms.
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowThisAccountsAlarmsToPublish",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions={
                    "StringEquals": {"aws:SourceAccount": account},
                    "ArnLike": {"aws:SourceArn": f"arn:{cdk.Aws.PARTITION}:cloudwatch:*:{account}:alarm:*"},
                },
            )
        )
        self._subscribe(config.alarm_emails)
        self.alarm_action = cw_actions.SnsAction(self.topic)
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
        account = cdk.Stack.of(self).account
        # As for CloudWatch: this account's budgets only.
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowThisAccountsBudgetsToUseTheKey",
                principals=[iam.ServicePrincipal("budgets.amazonaws.com")],
                actions=list(TOPIC_KEY_ACTIONS),
                resources=["*"],
                conditions={"StringEquals": {"aws:SourceAccount": account}},
            )
        )
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowThisAccountsBudgetsToPublish",
                principals=[iam.ServicePrincipal("budgets.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions={"StringEquals": {"aws:SourceAccount": account}},
            )
        )

    def _subscribe(self, emails: tuple[str, ...]) -> None:
        for email in emails:
            self.topic.add_subscription(
                subscriptions.EmailSubscription(email, dead_letter_queue=self.undeliverable)
            )

    @functools.cached_property
    def undeliverable(self) -> sqs.Queue:
        """Where an on-call notification that could not be delivered waits (14 days): the e-mail
        subscriptions' and the backup rule's dead-letter queue."""
        queue = sqs.Queue(
            self,
            "UndeliverableAlarms",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=self.key,
            enforce_ssl=True,
            retention_period=cdk.Duration.days(14),
        )
        for rule in ("AwsSolutions-SQS3", "Serverless-SQSRedrivePolicy"):
            acknowledge(
                queue,
                rule,
                "This queue is itself the dead-letter queue of the alarm e-mail subscriptions and the "
                "backup-failure rule; a DLQ of a DLQ would only move the same undeliverable notifications "
                "one hop further.",
            )
        # SNS and EventBridge encrypt what they move into the KMS-encrypted queue; this account's only.
        for sid, service in (
            ("AllowSnsToUseTheKeyForThisAccount", "sns"),
            ("AllowEventBridgeToUseTheKeyForThisAccount", "events"),
        ):
            self.key.add_to_resource_policy(
                iam.PolicyStatement(
                    sid=sid,
                    principals=[iam.ServicePrincipal(f"{service}.amazonaws.com")],
                    actions=list(TOPIC_KEY_ACTIONS),
                    resources=["*"],
                    conditions={"StringEquals": {"aws:SourceAccount": cdk.Stack.of(self).account}},
                )
            )
        return queue
