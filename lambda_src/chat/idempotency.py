"""Idempotency-Key support: a repeated POST /chat returns the first answer without asking the model.

Powertools idempotency on the conversation table: records live under pk = IDEMPOTENCY (one partition
of small items; chat traffic is far below a partition's write limit), expire with the table's TTL,
and are keyed by client + Idempotency-Key, with the body's hash checked so one key cannot be reused
for a different question.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config

_BOTO_CONFIG = Config(connect_timeout=1, read_timeout=2, retries={"mode": "standard", "max_attempts": 2})


@cache
def _store(table_name: str) -> DynamoDBPersistenceLayer:
    return DynamoDBPersistenceLayer(
        table_name=table_name,
        key_attr="pk",
        sort_key_attr="sk",
        static_pk_value="IDEMPOTENCY",
        expiry_attr="expiresAt",
        boto_config=_BOTO_CONFIG,
    )


def run_once(
    answer: Callable[[], dict[str, Any]],
    *,
    table_name: str,
    ttl_seconds: int,
    lambda_context: LambdaContext,
    key: dict[str, str],
) -> dict[str, Any]:
    """``answer()`` once per (client, route, key); later calls with the same key get the stored result.
    ``key`` holds client, route (one key may be used on /chat and on /chat/jobs), key and body (a hash)."""
    config = IdempotencyConfig(
        event_key_jmespath="[client, route, key]",
        payload_validation_jmespath="body",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=ttl_seconds,
    )
    config.register_lambda_context(lambda_context)

    @idempotent_function(data_keyword_argument="request", persistence_store=_store(table_name), config=config)
    def chat_turn(request: dict[str, str]) -> dict[str, Any]:
        return answer()

    result: dict[str, Any] = chat_turn(request=key)
    return result
