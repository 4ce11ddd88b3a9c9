"""The stage's AWS resources as moto should hold them for tests and `make dev`: the conversation
table with the same keys and sessions index as stacks/constructs/conversation_store.py (tests/infra
keeps the two alike), and the jobs queue with its dead-letter queue, delivered as Lambda delivers."""

from __future__ import annotations

import json
from typing import Any

from lambda_src.chat import keys

KEY_SCHEMA = [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}]
ATTRIBUTES = [
    {"AttributeName": "pk", "AttributeType": "S"},
    {"AttributeName": "sk", "AttributeType": "S"},
    {"AttributeName": keys.SESSION_OWNER, "AttributeType": "S"},
    {"AttributeName": keys.LAST_ACTIVE, "AttributeType": "N"},
]
SESSIONS_INDEX: dict[str, Any] = {
    "IndexName": keys.SESSIONS_INDEX,
    "KeySchema": [
        {"AttributeName": keys.SESSION_OWNER, "KeyType": "HASH"},
        {"AttributeName": keys.LAST_ACTIVE, "KeyType": "RANGE"},
    ],
    "Projection": {
        "ProjectionType": "INCLUDE",
        "NonKeyAttributes": ["sessionId", "createdAtMs", "expiresAt"],
    },
}


def create_conversation_table(dynamodb: Any, name: str) -> Any:
    """``dynamodb`` is a boto3 DynamoDB resource (under moto)."""
    return dynamodb.create_table(
        TableName=name,
        KeySchema=KEY_SCHEMA,
        AttributeDefinitions=ATTRIBUTES,
        GlobalSecondaryIndexes=[SESSIONS_INDEX],
        BillingMode="PAY_PER_REQUEST",
    )


def create_job_queues(sqs: Any, name: str, *, max_receive_count: int) -> tuple[str, str]:
    """The jobs queue and its dead-letter queue, after ``max_receive_count`` receives, as the stack
    makes them; ``sqs`` is a boto3 SQS client (under moto). Their URLs, queue first."""
    dlq = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue = sqs.create_queue(
        QueueName=name,
        Attributes={
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receive_count)}
            )
        },
    )["QueueUrl"]
    return str(queue), str(dlq)


def sqs_event(messages: list[dict[str, Any]], *, queue_arn: str, region: str) -> dict[str, Any]:
    """The event Lambda's SQS event source hands the worker for messages from ReceiveMessage
    (received with AttributeNames=["All"])."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": {},
                "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
            for m in messages
        ]
    }
