"""The async chat path: an SQS queue (KMS, SSL only) feeding the worker Lambda with partial batch
failure reporting, and a dead-letter queue kept 14 days for what failed maxReceiveCount times."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from stacks.config import StageConfig
from stacks.nag import acknowledge

# SQS's guidance: a visibility timeout of at least six times the consumer's timeout.
VISIBILITY_FACTOR = 6


class JobQueue(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        key: kms.IKey,
        worker: lambda_.Function,
    ) -> None:
        super().__init__(scope, construct_id)
        jobs = config.jobs
        self.dlq = sqs.Queue(
            self,
            "DeadLetters",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=key,
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
            encryption_master_key=key,
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
