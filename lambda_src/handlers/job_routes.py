"""Chat turns answered in the background.

POST /chat/jobs            202 with a job id (optional Idempotency-Key: the same key gives the same job)
GET  /chat/jobs/{jobId}    the job's status and, once done, the reply
"""

from __future__ import annotations

import functools
import re
import time
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from botocore.exceptions import BotoCoreError, ClientError

from lambda_src.chat.dependencies import AWS_CLIENT_CONFIG, dependencies
from lambda_src.chat.jobs import JobMessage, JobStore, QueueUnavailable, new_job_id
from lambda_src.chat.models import BadRequest, ChatRequest, parse_idempotency_key
from lambda_src.chat.telemetry import count
from lambda_src.handlers.http import client_of, json_answer, once, serialized

router = Router()


@functools.cache
def _sqs() -> Any:
    import boto3

    return boto3.client("sqs", config=AWS_CLIENT_CONFIG)


@router.post("/chat/jobs")
def enqueue_job() -> Response[Any]:
    deps = dependencies()
    event = router.current_event
    request = ChatRequest.parse(event.body, max_message_chars=deps.settings.max_message_chars)
    owner = client_of(event)

    def queue() -> dict[str, Any]:
        deps.admit_new_turns()  # a job is a new turn: none is queued while the kill switch is on
        job = JobMessage(
            job_id=new_job_id(), owner=owner, session_id=request.sessionId, message=request.message
        )
        jobs = JobStore(deps.table)
        jobs.create(owner, job.job_id, session_id=request.sessionId, now=time.time())
        try:
            _sqs().send_message(QueueUrl=deps.settings.jobs_queue_url, MessageBody=job.to_json())
        except (ClientError, BotoCoreError):
            jobs.finish(owner, job.job_id, status="failed", result={"error": "the job could not be queued"})
            raise QueueUnavailable from None
        count("JobsQueued")
        return {
            "body": serialized({"jobId": job.job_id, "status": "queued"}),
            "headers": {"Location": f"/api/chat/jobs/{job.job_id}"},
        }

    answer = once(
        queue,
        owner=owner,
        session_id=request.sessionId,
        route="/chat/jobs",
        key=parse_idempotency_key(event.headers),
        body=event.body,
        lambda_context=router.lambda_context,
    )
    return json_answer(202, answer["body"], answer["headers"])


@router.get("/chat/jobs/<jobId>")
def job_status(jobId: str) -> Response[Any]:  # noqa: N803 - the route's parameter name
    if not re.fullmatch(r"[0-9a-f]{32}", jobId):
        raise BadRequest("jobId: must be the 32-character id returned by POST /chat/jobs")
    job = JobStore(dependencies().table).get(client_of(router.current_event), jobId)
    if job is None:
        return json_answer(404, {"message": "No such job", "requestId": router.lambda_context.aws_request_id})
    return json_answer(200, {"jobId": jobId, "status": job["status"], **(job.get("result") or {})})
