"""A CloudTrail trail of the stage's account, where config asks for one (`audit_trail_retention_days`):
every region's management events (the secrets' reads among them: Secrets Manager has no data events),
and the conversation table's data events, into a bucket that no one can change or delete for the
retention period (S3 Object Lock, compliance mode), encrypted with a key of its own, with log file
validation, and copied to CloudWatch Logs for queries and alarms."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudtrail as cloudtrail
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from stacks.constructs.log_encryption import LogKey
from stacks.nag import HIPAA, NIST, PCI, acknowledge_rules, skip_checkov

# Access logs of the trail's bucket: who read the audit trail.
ACCESS_LOG_DAYS = 365


class AuditTrail(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage_name: str,
        retention_days: int,
        table: dynamodb.ITableV2,
        log_key: LogKey,
    ) -> None:
        super().__init__(scope, construct_id)
        account = cdk.Stack.of(self).account
        self.key = kms.Key(
            self,
            "Key",
            description=f"Encrypts the chatbot's {stage_name} CloudTrail log files",
            enable_key_rotation=True,
            removal_policy=cdk.RemovalPolicy.RETAIN,  # the log files stay readable as long as they are kept
        )
        # What AWS documents for a trail's key, held to this account's trails.
        trails = f"arn:{cdk.Aws.PARTITION}:cloudtrail:*:{account}:trail/*"
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowThisAccountsCloudTrailToEncryptLogs",
                principals=[iam.ServicePrincipal("cloudtrail.amazonaws.com")],
                actions=["kms:GenerateDataKey*"],
                resources=["*"],
                conditions={
                    "StringEquals": {"aws:SourceAccount": account},
                    "StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn": trails},
                },
            )
        )
        # DescribeKey carries no encryption context: a statement of its own, held to this account.
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowThisAccountsCloudTrailToDescribeTheKey",
                principals=[iam.ServicePrincipal("cloudtrail.amazonaws.com")],
                actions=["kms:DescribeKey"],
                resources=["*"],
                conditions={"StringEquals": {"aws:SourceAccount": account}},
            )
        )
        access_logs = s3.Bucket(
            self,
            "AccessLogs",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            # S3 server access logging delivers only to SSE-S3 buckets (SSE-KMS is not supported).
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            versioned=True,
            lifecycle_rules=[
                s3.LifecycleRule(id="ExpireLogs", expiration=cdk.Duration.days(ACCESS_LOG_DAYS))
            ],
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        self._acknowledge_access_logs(access_logs)
        self.bucket = s3.Bucket(
            self,
            "Logs",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.key,
            enforce_ssl=True,
            versioned=True,
            object_lock_enabled=True,
            object_lock_default_retention=s3.ObjectLockRetention.compliance(
                cdk.Duration.days(retention_days)
            ),
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="ExpireAfterRetention",
                    expiration=cdk.Duration.days(retention_days + 1),
                    noncurrent_version_expiration=cdk.Duration.days(1),
                )
            ],
            server_access_logs_bucket=access_logs,
            server_access_logs_prefix="s3/audit-trail/",
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        # CDK's statements for CloudTrail name no source: no other account's trail may write here.
        self.bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="DenyOtherAccountsTrails",
                effect=iam.Effect.DENY,
                principals=[iam.ServicePrincipal("cloudtrail.amazonaws.com")],
                actions=["s3:PutObject"],
                resources=[self.bucket.arn_for_objects("*")],
                conditions={"StringNotEquals": {"aws:SourceAccount": account}},
            )
        )
        acknowledge_rules(
            self.bucket,
            "S3BucketReplicationEnabled",
            (NIST, HIPAA, PCI),
            "The trail's log files are immutable for the retention period (Object Lock, compliance mode) and "
            "validated by CloudTrail's digest files; a copy in a second region belongs to an organization "
            "trail (README, 'Audit trail'), not to one stage.",
        )
        self.trail = cloudtrail.Trail(
            self,
            "Trail",
            bucket=self.bucket,
            encryption_key=self.key,
            is_multi_region_trail=True,
            include_global_service_events=True,
            enable_file_validation=True,
            send_to_cloud_watch_logs=True,
            cloud_watch_log_group=log_key.log_group(self, "TrailLogs"),
        )
        trail = self.trail.node.default_child
        assert isinstance(trail, cloudtrail.CfnTrail)
        # Advanced selectors or basic ones, never both: CDK writes an empty basic list.
        trail.add_property_deletion_override("EventSelectors")
        field = cloudtrail.CfnTrail.AdvancedFieldSelectorProperty
        trail.advanced_event_selectors = [
            cloudtrail.CfnTrail.AdvancedEventSelectorProperty(
                name="Management events",
                field_selectors=[field(field="eventCategory", equal_to=["Management"])],
            ),
            cloudtrail.CfnTrail.AdvancedEventSelectorProperty(
                name="Conversation table data events",
                field_selectors=[
                    field(field="eventCategory", equal_to=["Data"]),
                    field(field="resources.type", equal_to=["AWS::DynamoDB::Table"]),
                    field(field="resources.ARN", equal_to=[table.table_arn]),
                ],
            ),
        ]
        acknowledge_rules(
            self.trail.node.find_child("LogsRole").node.find_child("DefaultPolicy"),
            "IAMNoInlinePolicy",
            (NIST, HIPAA, PCI),
            "CDK writes the trail's delivery permission (its own log streams of its own log group) into the "
            "role it creates for this one trail; no managed policy is attached, so nothing else inherits it.",
        )

    @staticmethod
    def _acknowledge_access_logs(bucket: s3.Bucket) -> None:
        acknowledge_rules(
            bucket,
            "S3DefaultEncryptionKMS",
            (NIST, HIPAA, PCI),
            "S3 server access logging delivers only to buckets whose default encryption is SSE-S3 "
            "(SSE-KMS is not supported for its target buckets); objects are encrypted at rest with SSE-S3.",
        )
        acknowledge_rules(
            bucket,
            "S3BucketReplicationEnabled",
            (NIST, HIPAA, PCI),
            "Access logs of the audit trail's bucket in one region, versioned against deletion and kept a "
            "year; a replica in a second region is part of an organization trail, not of one stage.",
        )
        skip_checkov(
            bucket,
            "CKV_AWS_18",
            "This is the access-log bucket of the audit trail's bucket: logging it into itself would log "
            "every log delivery, and into another bucket would only move the question one bucket further.",
        )
