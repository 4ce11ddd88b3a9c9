"""Lambda's SQS event source for `make dev`: poll the jobs queue, hand batches to the real worker
handler, delete what it answered and leave what it reported as failed; a failed message comes back
after the queue's visibility timeout and, after maxReceiveCount receives, SQS (moto) moves it to the
dead-letter queue. Batches run side by side up to the stage's worker concurrency."""

from __future__ import annotations

import functools
import sys
import threading
from concurrent.futures import Future
from typing import Any

from scripts.dev_lambda import Function, LambdaService
from scripts.local_aws import sqs_event

IDLE_POLL_SECONDS = 0.5


class QueuePoller(threading.Thread):
    def __init__(
        self,
        lambdas: LambdaService,
        worker: Function,
        *,
        queue_url: str,
        queue_arn: str,
        region: str,
        batch_size: int,
        concurrency: int,
    ) -> None:
        super().__init__(name="jobs-poller", daemon=True)
        self._lambdas = lambdas
        self._worker = worker
        self._queue_url = queue_url
        self._queue_arn = queue_arn
        self._region = region
        self._batch_size = batch_size
        self._slots = threading.BoundedSemaphore(concurrency)
        self._stopped = threading.Event()

    def stop(self) -> None:
        self._stopped.set()

    def run(self) -> None:
        import boto3

        sqs = boto3.client("sqs")
        while not self._stopped.is_set():
            self._slots.acquire()
            try:
                messages = sqs.receive_message(
                    QueueUrl=self._queue_url,
                    MaxNumberOfMessages=self._batch_size,
                    AttributeNames=["All"],
                ).get("Messages", [])
            except Exception:  # moto going away as the server stops
                self._slots.release()
                self._stopped.wait(IDLE_POLL_SECONDS)
                continue
            if not messages:
                self._slots.release()
                self._stopped.wait(IDLE_POLL_SECONDS)
                continue
            event = sqs_event(messages, queue_arn=self._queue_arn, region=self._region)
            done = self._lambdas.invoke(self._worker, event)
            done.add_done_callback(functools.partial(self._settle, sqs, messages))

    def _settle(self, sqs: Any, messages: list[dict[str, Any]], result: Future[dict[str, Any]]) -> None:
        try:
            error = result.exception()
            if error is not None:  # the whole batch comes back after the visibility timeout
                print(f"worker: {error}; the batch returns to the queue", file=sys.stderr, flush=True)
                return
            failed = {item["itemIdentifier"] for item in result.result().get("batchItemFailures", [])}
            answered = [
                {"Id": str(number), "ReceiptHandle": message["ReceiptHandle"]}
                for number, message in enumerate(messages)
                if message["MessageId"] not in failed
            ]
            if answered:
                sqs.delete_message_batch(QueueUrl=self._queue_url, Entries=answered)
        finally:
            self._slots.release()
