"""Worker Lambda: answers queued chat jobs (SQS), reporting failed records one by one so only they
come back; after the queue's maxReceiveCount a message moves to the dead-letter queue."""

from __future__ import annotations

import json
import time
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambda_src.chat import keys
from lambda_src.chat.dependencies import dependencies
from lambda_src.chat.jobs import JobAlreadyAnswered, JobGone, JobMessage, JobStore
from lambda_src.chat.models import BadRequest, ChatRequest
from lambda_src.chat.providers.base import LlmBadResponse
from lambda_src.chat.quotas import QuotaExceeded
from lambda_src.chat.service import reply_to
from lambda_src.chat.telemetry import count, metrics, record_turn
from lambda_src.chat.turns import SessionErased

logger = Logger()
# Failed records are reported back (partial batch response) even when every record failed, so a
# poison batch does not count as a Lambda error on top of its own metrics.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
# Seconds added to the invocation's remaining time for a claim's lease: another delivery may claim the
# job only once this invocation is surely over.
LEASE_MARGIN_SECONDS = 5
_context: dict[str, LambdaContext] = {}


def answer_job(record: SQSRecord) -> None:
    try:
        job = JobMessage.from_json(record.body)  # a malformed message fails until it reaches the DLQ
    except (ValueError, KeyError, TypeError):
        logger.warning("job message unreadable", extra={"message_id": record.message_id})
        raise
    logger.append_keys(job_id=job.job_id, client=job.owner)
    try:
        _answer(job, record)
    finally:
        logger.remove_keys(["job_id", "client"])


def _answer(job: JobMessage, record: SQSRecord) -> None:
    deps = dependencies()
    settings = deps.settings
    jobs = JobStore(deps.table)
    context = _context["current"]
    lease = int(context.get_remaining_time_in_millis() / 1000) + LEASE_MARGIN_SECONDS
    try:
        jobs.claim(job.owner, job.job_id, now=time.time(), lease_seconds=lease)
    except JobAlreadyAnswered:
        logger.info("job already answered: a repeated delivery")
        count("JobDuplicateDeliveries")
        return
    except JobGone:
        logger.info("job no longer exists (erased with its session, or expired); its message is dropped")
        count("JobsDiscarded")
        return
    try:
        request = ChatRequest.parse(
            json.dumps({"sessionId": job.session_id, "message": job.message}),
            max_message_chars=settings.max_message_chars,
        )
        outcome = reply_to(
            request,
            context=deps.turn_context(job.owner, job.job_id, requires=keys.job_key(job.owner, job.job_id)),
            store=deps.store,
            llm=deps.llm,
            clock=time.time,
            remaining_seconds=lambda: context.get_remaining_time_in_millis() / 1000,
        )
    except SessionErased:
        # The session (and this job with it) was erased before or while the model was asked: nothing kept.
        logger.info("job's session erased while it ran; nothing kept")
        count("TurnsDiscardedByErasure")
        return
    except (BadRequest, QuotaExceeded, LlmBadResponse) as error:
        # A retry cannot help: the job ends, and says why in words the client may see.
        reason = {
            BadRequest: "the request is not valid",
            QuotaExceeded: "the quota for today is used up",
            LlmBadResponse: "the assistant could not produce a reply",
        }[type(error)]
        jobs.finish(job.owner, job.job_id, status="failed", result={"error": reason})
        logger.warning("job failed", extra={"reason": reason})
        count("JobsFailed")
        return
    except Exception:
        if int(record.attributes.approximate_receive_count) >= settings.jobs_max_receive_count:
            # This was the last delivery: the message goes to the dead-letter queue. Say so to the client,
            # and leave the job claimable for a redrive.
            jobs.finish(
                job.owner,
                job.job_id,
                status="failed",
                result={"error": "the assistant is unavailable; the job may be retried later"},
                retryable=True,
            )
            logger.warning("job failed on its last delivery; its message goes to the dead-letter queue")
            count("JobsDeadLettered")
        else:
            jobs.release(job.owner, job.job_id)  # back on the queue after its visibility timeout
            logger.warning(
                "job failed; it will be retried",
                extra={"receives": record.attributes.approximate_receive_count},
            )
            count("JobsRetried")
        raise
    jobs.finish(
        job.owner, job.job_id, status="done", result=outcome.reply.model_dump(mode="json", exclude_none=True)
    )
    logger.info("job answered")
    count("JobsAnswered")
    if outcome.resend:
        return  # the same message's running turn answered it: counted there
    record_turn(outcome, client=job.owner, session_id=job.session_id, message_chars=len(job.message))


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    _context["current"] = context
    return dict(
        process_partial_response(event=event, record_handler=answer_job, processor=processor, context=context)
    )
