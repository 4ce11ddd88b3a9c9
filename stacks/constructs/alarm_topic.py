"""An on-call SNS topic: encrypted with a key of its own that this account's CloudWatch alarms may use,
SSL only, e-mail subscriptions whose undeliverable messages wait in a queue. The stage's operations
(operations.py) and the edge's alarms in us-east-1 (edge_watch_stack.py) each have one."""

from __future__ import annotations

import functools

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from stacks.nag import acknowledge

# What a service needs of the topic's key to publish an encrypted message.
TOPIC_KEY_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey*")


def allow_service_to_use_key(key: kms.IKey, sid: str, service: str) -> None:
    """Let ``service`` (e.g. "sns") encrypt with ``key`` on behalf of this account's resources only."""
    key.add_to_resource_policy(
        iam.PolicyStatement(
            sid=sid,
            principals=[iam.ServicePrincipal(f"{service}.amazonaws.com")],
            actions=list(TOPIC_KEY_ACTIONS),
            resources=["*"],  # in a key policy, "*" means this key
            conditions={"StringEquals": {"aws:SourceAccount": cdk.Stack.of(key).account}},
        )
    )


class OnCallTopic(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage_name: str,
        emails: tuple[str, ...],
        display_name: str,
    ) -> None:
        super().__init__(scope, construct_id)
        # A key of its own: CloudWatch must be allowed to encrypt messages to the topic, which the
        # AWS-managed SNS key does not allow.
        self.key = kms.Key(
            self,
            "TopicKey",
            description=f"Encrypts the chatbot's {stage_name} alarm topic",
            enable_key_rotation=True,
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        account = cdk.Stack.of(self).account
        # The statement AWS documents for alarms on encrypted topics, for this account's alarms only
        # (SNS documents aws:SourceAccount on the key policy for service sources; the topic policy
        # below narrows publishing to this account's alarms as well).
        allow_service_to_use_key(self.key, "AllowThisAccountsCloudWatchAlarmsToUseTheKey", "cloudwatch")
        self.topic = sns.Topic(
            self,
            "AlarmTopic",
            display_name=f"Chatbot {stage_name} {display_name}",
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
        self._subscribe(emails)
        self.alarm_action = cw_actions.SnsAction(self.topic)

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
            allow_service_to_use_key(self.key, sid, service)
        return queue
