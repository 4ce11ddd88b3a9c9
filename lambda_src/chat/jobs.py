"""Chat turns answered in the background: a job record in the table, the request on an SQS queue.

Job items: pk = JOB#<client>#<job id>, sk = JOB, with status queued | running | done | failed, the
reply once done, and a TTL; a JOBREF#<job id> item in the session's partition lets the session's
erasure find the job. A worker claims a job with a conditional update before asking the model, so a
job id is answered once even when SQS delivers its message twice; an erased job is never written again.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from lambda_src.chat import keys
from lambda_src.chat.dynamo import SECONDS_PER_DAY, StoreUnavailable

# Longer than the dead-letter queue keeps a message (14 days), so a redriven job still has its record.
JOB_RETENTION_DAYS = 15


class QueueUnavailable(Exception):
    """SQS did not take the job; nothing was queued and the caller may retry."""


class JobAlreadyAnswered(Exception):
    """Another delivery of this job's message already produced the answer."""


class JobGone(Exception):
    """The job's record is not there: erased with its session, or expired."""


class JobBusy(Exception):
    """Another delivery is answering this job right now; try again after the lease."""


@dataclass(frozen=True)
class JobMessage:
    job_id: str
    owner: str
    session_id: str
    message: str

    def to_json(self) -> str:
        return json.dumps(
            {"jobId": self.job_id, "owner": self.owner, "sessionId": self.session_id, "message": self.message}
        )

    @classmethod
    def from_json(cls, body: str) -> JobMessage:
        data = json.loads(body)
        return cls(
            job_id=str(data["jobId"]),
            owner=str(data["owner"]),
            session_id=str(data["sessionId"]),
            message=str(data["message"]),
        )


def new_job_id() -> str:
    return uuid.uuid4().hex


def plain(value: Any) -> Any:
    """A record as JSON types: DynamoDB hands numbers back as Decimal, which would serialize as strings."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


class JobStore:
    def __init__(self, table: Any) -> None:
        self._table = table

    @staticmethod
    def _key(owner: str, job_id: str) -> dict[str, str]:
        return keys.job_key(owner, job_id)

    def create(self, owner: str, job_id: str, *, session_id: str, now: float) -> None:
        expires_at = int(now) + JOB_RETENTION_DAYS * SECONDS_PER_DAY
        item = {
            **self._key(owner, job_id),
            "status": "queued",
            "createdAt": int(now),
            "expiresAt": expires_at,
        }
        reference = {
            "pk": keys.session_partition(owner, session_id),
            "sk": keys.JOB_REF_PREFIX + job_id,
            "expiresAt": expires_at,
        }
        try:
            self._table.meta.client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self._table.name,
                            "Item": item,
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {"Put": {"TableName": self._table.name, "Item": reference}},
                ]
            )
        except (ClientError, BotoCoreError) as error:
            raise StoreUnavailable("job create failed") from error

    def get(self, owner: str, job_id: str) -> dict[str, Any] | None:
        try:
            item = self._table.get_item(Key=self._key(owner, job_id), ConsistentRead=True).get("Item")
        except (ClientError, BotoCoreError) as error:
            raise StoreUnavailable("job read failed") from error
        return plain(dict(item)) if item else None

    def claim(self, owner: str, job_id: str, *, now: float, lease_seconds: int) -> None:
        """queued, running with an expired lease, or failed-but-retryable (a redriven dead letter)
        -> running; raises if answered, busy or gone."""
        try:
            self._table.update_item(
                Key=self._key(owner, job_id),
                UpdateExpression="SET #s = :running, leaseUntil = :lease",
                ConditionExpression=(
                    "attribute_exists(pk) AND (#s = :queued OR (#s = :running AND leaseUntil < :now) "
                    "OR (#s = :failed AND retryable = :yes))"
                ),
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={
                    ":running": "running",
                    ":queued": "queued",
                    ":failed": "failed",
                    ":yes": True,
                    ":lease": int(now) + lease_seconds,
                    ":now": int(now),
                },
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise StoreUnavailable("job claim failed") from error
            job = self.get(owner, job_id)
            if job is None:
                raise JobGone(job_id) from None
            if job.get("status") in ("done", "failed"):
                raise JobAlreadyAnswered(job_id) from None
            raise JobBusy(job_id) from None
        except BotoCoreError as error:
            raise StoreUnavailable("job claim failed") from error

    def finish(
        self,
        owner: str,
        job_id: str,
        *,
        status: str,
        result: dict[str, Any] | None = None,
        retryable: bool = False,
    ) -> None:
        """``retryable`` marks a failure that a redrive of the dead letter may still cure."""
        values: dict[str, Any] = {":status": status, ":retryable": retryable}
        expression = "SET #s = :status, retryable = :retryable REMOVE leaseUntil"
        if result is not None:
            expression = "SET #s = :status, retryable = :retryable, #r = :result REMOVE leaseUntil"
            values[":result"] = result
        try:
            self._table.update_item(
                Key=self._key(owner, job_id),
                UpdateExpression=expression,
                # An erased job stays erased: never recreate it with a reply.
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames={"#s": "status", **({"#r": "result"} if result is not None else {})},
                ExpressionAttributeValues=values,
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise StoreUnavailable("job update failed") from error
        except BotoCoreError as error:
            raise StoreUnavailable("job update failed") from error

    def release(self, owner: str, job_id: str) -> None:
        """The answer failed in a way a retry can cure: back to queued for the next delivery."""
        try:
            self._table.update_item(
                Key=self._key(owner, job_id),
                UpdateExpression="SET #s = :queued REMOVE leaseUntil",
                ConditionExpression="#s = :running",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":queued": "queued", ":running": "running"},
            )
        except (ClientError, BotoCoreError):
            return  # the lease expires anyway
