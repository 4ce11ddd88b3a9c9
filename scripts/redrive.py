"""Look at the chat-jobs dead-letter queue and move its messages back to the jobs queue.

    python -m scripts.redrive --stage prod              # dry run: counts and oldest age, changes nothing
    python -m scripts.redrive --stage prod --apply      # SQS message-move task back to the jobs queue

Never prints a message body (they hold what users wrote). `--method copy` moves messages one by one
(receive, send, delete) where the move task is unavailable. Needs AWS credentials for the stage.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from typing import Any

MOVE_TASK = "move-task"
COPY = "copy"


@dataclass(frozen=True)
class Queues:
    queue_url: str
    queue_arn: str
    dlq_url: str
    dlq_arn: str


@dataclass(frozen=True)
class DeadLetterReport:
    messages: int
    in_flight: int
    oldest_age_seconds: int | None


def stage_queues(cloudformation: Any, sqs: Any, stage: str) -> Queues:
    described = cloudformation.describe_stacks(StackName=f"{stage}-ChatbotService")["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
    queue_url, dlq_url = outputs["JobsQueueUrl"], outputs["JobsDeadLetterQueueUrl"]
    return Queues(queue_url, _arn(sqs, queue_url), dlq_url, _arn(sqs, dlq_url))


def _arn(sqs: Any, url: str) -> str:
    return str(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])


def report(sqs: Any, dlq_url: str, *, now: float | None = None) -> DeadLetterReport:
    attributes = sqs.get_queue_attributes(
        QueueUrl=dlq_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    # A peek at a sample (visibility 0: nothing is hidden or consumed) for the oldest sent time.
    sample = sqs.receive_message(
        QueueUrl=dlq_url, MaxNumberOfMessages=10, VisibilityTimeout=0, AttributeNames=["SentTimestamp"]
    ).get("Messages", [])
    sent = [int(m["Attributes"]["SentTimestamp"]) / 1000 for m in sample]
    now = time.time() if now is None else now
    return DeadLetterReport(
        messages=int(attributes.get("ApproximateNumberOfMessages", 0)),
        in_flight=int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
        oldest_age_seconds=int(now - min(sent)) if sent else None,
    )


def move_back(sqs: Any, queues: Queues, *, method: str = MOVE_TASK) -> str:
    """Start moving every dead letter back; returns the task handle, or how many were copied."""
    if method == MOVE_TASK:
        task = sqs.start_message_move_task(SourceArn=queues.dlq_arn, DestinationArn=queues.queue_arn)
        return f"message-move task {task['TaskHandle']}"
    moved = 0
    # Long polling: a short poll may come back empty while messages remain.
    while messages := sqs.receive_message(
        QueueUrl=queues.dlq_url, MaxNumberOfMessages=10, VisibilityTimeout=60, WaitTimeSeconds=1
    ).get("Messages", []):
        for message in messages:
            sqs.send_message(QueueUrl=queues.queue_url, MessageBody=message["Body"])
            sqs.delete_message(QueueUrl=queues.dlq_url, ReceiptHandle=message["ReceiptHandle"])
            moved += 1
    return f"{moved} messages copied back"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stage", required=True, choices=["dev", "staging", "prod"])
    parser.add_argument("--apply", action="store_true", help="move the messages (default: dry run)")
    parser.add_argument("--method", choices=[MOVE_TASK, COPY], default=MOVE_TASK)
    parser.add_argument("--region")
    args = parser.parse_args(argv)

    import boto3

    session = boto3.Session(region_name=args.region)
    sqs = session.client("sqs")
    queues = stage_queues(session.client("cloudformation"), sqs, args.stage)
    found = report(sqs, queues.dlq_url)
    age = f"{found.oldest_age_seconds} s" if found.oldest_age_seconds is not None else "-"
    print(f"dead letters: {found.messages} waiting, {found.in_flight} in flight, oldest {age}")
    if not args.apply:
        print("dry run: nothing moved (add --apply to move them back)")
        return 0
    if found.messages == 0:
        print("nothing to move")
        return 0
    print(move_back(sqs, queues, method=args.method))
    return 0


if __name__ == "__main__":
    sys.exit(main())
