"""The async chat path: an SQS queue (KMS, SSL only) feeding the worker Lambda with partial batch
failure reporting, and a dead-letter queue kept 14 days for what failed maxReceiveCount times.

Both queues are encrypted with a key of their own. SqsEventSource and grant_send_messages() grant
kms:Decrypt on the queue's key without conditions; on the stage's data key that would let the worker
decrypt table and secret data outside DynamoDB and Secrets Manager."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from stacks.config import StageConfig
from stacks.nag import HIPAA, NIST, acknowledge, acknowledge_rules

# SQS's guidance: a visibility timeout of at least six times the consumer's timeout.
VISIBILITY_FACTOR = 6


class JobQueue(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        worker: lambda_.Function,
    ) -> None:
        super().__init__(scope, construct_id)
        jobs = config.jobs
        # Messages live at most 14 days (the dead-letter queue): nothing outlives the queues, so the key
        # goes with them.
        self.key = kms.Key(
            self,
            "Key",
            description=f"Encrypts the chatbot's {config.name} chat-jobs queue and its dead-letter queue",
            enable_key_rotation=True,
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        self.dlq = sqs.Queue(
            self,
            "DeadLetters",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=self.key,
            enforce_ssl=True,
            retention_period=cdk.Duration.days(14),
        )
        acknowledge(
            self.dlq,
            "Serverless-SQSRedrivePolicy",
            "This is the dead-letter queue of the chat-jobs queue; scripts/redrive.py moves its messages "
            "back once the cause is fixed.",
        )
        self.queue = sqs.Queue(
            self,
            "Queue",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=self.key,
            enforce_ssl=True,
            retention_period=cdk.Duration.days(jobs.retention_days),
            visibility_timeout=cdk.Duration.seconds(jobs.worker_timeout_seconds * VISIBILITY_FACTOR),
            dead_letter_queue=sqs.DeadLetterQueue(queue=self.dlq, max_receive_count=jobs.max_receive_count),
        )
        source = sources.SqsEventSource(
            self.queue,
            batch_size=jobs.batch_size,
            report_batch_item_failures=True,
            max_concurrency=max(2, jobs.worker_concurrency),
        )
        worker.add_event_source(source)
        by_the_queue = (
            "Invoked by its SQS event source mapping only (no asynchronous invocation): a message that "
            f"fails {jobs.max_receive_count} times moves to the chat-jobs dead-letter queue by the queue's "
            "redrive policy; a Lambda dead-letter queue would never receive anything."
        )
        acknowledge_rules(
            worker, "LambdaDLQ", ("Serverless", NIST, HIPAA), by_the_queue, checkov="CKV_AWS_116"
        )
        mapping = next(c for c in worker.node.children if isinstance(c, lambda_.EventSourceMapping))
        acknowledge(
            mapping,
            "Serverless-LambdaEventSourceMappingDestination",
            "SQS event source mappings take no on-failure destination: a message that fails "
            f"{jobs.max_receive_count} times moves to the dead-letter queue by the queue's redrive policy.",
        )

    def widget(self) -> cloudwatch.IWidget:
        return cloudwatch.GraphWidget(
            title="Chat jobs: queue and dead-letter depth, oldest message (s)",
            left=[
                self.queue.metric_approximate_number_of_messages_visible(label="queued"),
                self.dlq.metric_approximate_number_of_messages_visible(label="dead letters"),
            ],
            right=[self.queue.metric_approximate_age_of_oldest_message(label="oldest (s)")],
            width=24,
        )
