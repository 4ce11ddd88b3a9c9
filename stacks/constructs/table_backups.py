"""AWS Backup for the conversation table: a daily recovery point kept for the stage's retention, in a
vault encrypted with the stage's data key. PITR (35 days) covers recent mistakes; these cover longer."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_backup as backup
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_kms as kms
from constructs import Construct

from stacks.nag import acknowledge


class TableBackups(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        table: dynamodb.ITableV2,
        key: kms.IKey,
        retention_days: int,
    ) -> None:
        super().__init__(scope, construct_id)
        # Retained in every stage: a vault that holds recovery points cannot be deleted with the stack.
        self.vault = backup.BackupVault(
            self, "Vault", encryption_key=key, removal_policy=cdk.RemovalPolicy.RETAIN
        )
        self.plan = backup.BackupPlan(self, "Plan", backup_vault=self.vault)
        self.plan.add_rule(
            backup.BackupPlanRule(
                rule_name="Daily",
                schedule_expression=events.Schedule.cron(hour="3", minute="0"),  # 03:00 UTC, off-peak
                start_window=cdk.Duration.hours(1),
                completion_window=cdk.Duration.hours(4),
                delete_after=cdk.Duration.days(retention_days),
            )
        )
        selection = self.plan.add_selection(
            "Table", resources=[backup.BackupResource.from_arn(table.table_arn)]
        )
        acknowledge(
            selection.node.find_child("Role"),
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AWSBackupServiceRolePolicyForBackup]",
            "AWS Backup's own service-role policy, maintained by AWS for taking recovery points; this role "
            "is assumed only by AWS Backup and its selection is the one conversation table.",
        )
