"""Idempotency-Key support: a repeated POST /chat or /chat/jobs returns the first answer without asking
the model again.

Powertools idempotency on the conversation table. A request's record lives in its session's partition
(static pk = CONV#<client>#<session>), so erasing the session erases its records and a replay can never
return an erased answer. Records are keyed by client, route and Idempotency-Key, the body's hash is
checked (one key cannot be reused for another request), and they expire with the table's TTL.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache, lru_cache
from typing import Any

import boto3
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config
from botocore.exceptions import ClientError

_BOTO_CONFIG = Config(connect_timeout=1, read_timeout=2, retries={"mode": "standard", "max_attempts": 2})


class SaveOntoOwnRecord:
    """The DynamoDB client Powertools is given. Its one update_item saves the answer onto the request's
    in-progress record; here that is conditional on the record still being there. Erasing the session
    deletes it, and an answer finished just before the erasure must not come back after it: the save
    fails instead (answer_erased() recognises that), and the caller is told the session was erased."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def update_item(self, **request: Any) -> Any:
        return self._client.update_item(**request, ConditionExpression="attribute_exists(pk)")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def answer_erased(error: BaseException) -> bool:
    """Whether an idempotency store error is the save of an answer whose record an erasure deleted."""
    cause = error.__cause__
    return isinstance(cause, ClientError) and (
        cause.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"
    )


@cache
def _client() -> Any:
    return SaveOntoOwnRecord(boto3.client("dynamodb", config=_BOTO_CONFIG))


@lru_cache(maxsize=256)
def _store(table_name: str, partition: str) -> DynamoDBPersistenceLayer:
    return DynamoDBPersistenceLayer(
        table_name=table_name,
        key_attr="pk",
        sort_key_attr="sk",
        static_pk_value=partition,
        expiry_attr="expiresAt",
        boto3_client=_client(),
    )


def run_once(
    answer: Callable[[], dict[str, Any]],
    *,
    table_name: str,
    partition: str,
    ttl_seconds: int,
    lambda_context: LambdaContext,
    key: dict[str, str],
) -> dict[str, Any]:
    """``answer()`` once per (client, route, key); later calls with the same key get the stored result.
    ``key`` holds client, route (one key may be used on /chat and on /chat/jobs), key and body (a hash);
    ``partition`` is the session's, where the record is kept."""
    config = IdempotencyConfig(
        event_key_jmespath="[client, route, key]",
        payload_validation_jmespath="body",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=ttl_seconds,
    )
    config.register_lambda_context(lambda_context)

    @idempotent_function(
        data_keyword_argument="request", persistence_store=_store(table_name, partition), config=config
    )
    def chat_turn(request: dict[str, str]) -> dict[str, Any]:
        return answer()

    result: dict[str, Any] = chat_turn(request=key)
    return result
