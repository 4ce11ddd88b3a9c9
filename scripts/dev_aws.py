"""AWS for `make dev`: moto as a server on a loopback port, so that every Lambda container (a process of
its own) sees the same table, queues and secret; and the stage's resources in it, made as the stacks
make them (scripts/local_aws.py).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

REGION = "us-east-1"
# boto3 in this process and in every container: moto's endpoint and throwaway credentials.
CLIENT_ENVIRONMENT = {
    "AWS_DEFAULT_REGION": REGION,
    "AWS_ACCESS_KEY_ID": "dev",
    "AWS_SECRET_ACCESS_KEY": "dev",
}

Wsgi = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def _one_call_at_a_time(app: Wsgi) -> Wsgi:
    """DynamoDB applies each call, a transaction included, as one; moto does not lock on its own, so
    calls from concurrent containers are applied one after another."""
    lock = threading.Lock()

    def serialized(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        with lock:
            return list(app(environ, start_response))

    return serialized


def start_moto() -> str:
    """Start moto on 127.0.0.1 (a free port) in a daemon thread; its endpoint URL."""
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per AWS call
    app = _one_call_at_a_time(DomainDispatcherApplication(create_backend_app))
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=MotoRequestHandler)
    threading.Thread(target=server.serve_forever, name="moto", daemon=True).start()
    host, port = server.server_address[:2]
    return f"http://{host!s}:{port}"


@dataclass(frozen=True)
class LocalStage:
    endpoint: str
    table_name: str
    secret_arn: str
    queue_url: str
    dead_letter_queue_url: str

    @property
    def queue_arn(self) -> str:
        return f"arn:aws:sqs:{REGION}:123456789012:{self.queue_url.rsplit('/', 1)[-1]}"

    def environment(self) -> dict[str, str]:
        """What the containers need to reach this stage's AWS."""
        return {**CLIENT_ENVIRONMENT, "AWS_ENDPOINT_URL": self.endpoint, "JOBS_QUEUE_URL": self.queue_url}


def provision(*, llm_key: str, max_receive_count: int, visibility_timeout_seconds: int) -> LocalStage:
    """moto, and in it the conversation table, the LLM key's secret and the jobs queues."""
    endpoint = start_moto()
    os.environ.update({**CLIENT_ENVIRONMENT, "AWS_ENDPOINT_URL": endpoint})
    import boto3

    from scripts.local_aws import create_conversation_table, create_job_queues

    table = create_conversation_table(boto3.resource("dynamodb"), "chatbot-dev")
    secret = boto3.client("secretsmanager").create_secret(Name="dev-llm-key", SecretString=llm_key)
    sqs = boto3.client("sqs")
    queue, dead_letters = create_job_queues(sqs, "chatbot-dev-jobs", max_receive_count=max_receive_count)
    sqs.set_queue_attributes(
        QueueUrl=queue, Attributes={"VisibilityTimeout": str(visibility_timeout_seconds)}
    )
    return LocalStage(
        endpoint=endpoint,
        table_name=table.name,
        secret_arn=secret["ARN"],
        queue_url=queue,
        dead_letter_queue_url=dead_letters,
    )
