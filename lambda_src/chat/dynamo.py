"""The DynamoDB calls the chat's stores share: a named transaction that says which conditions failed,
a consistent batched read, and the one error every store raises when DynamoDB cannot answer."""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

SECONDS_PER_DAY = 86_400
# BatchGetItem hands back what it could not read in time; read those again this many times at most.
MAX_BATCH_GET_ROUNDS = 5
# A transaction that conflicted with another on the same item is tried this many times in all, pausing
# a random 0-50 ms, then 0-100 ms, ... between tries.
CONFLICT_ATTEMPTS = 4
CONFLICT_PAUSE_SECONDS = 0.05

Operation = tuple[str, dict[str, Any]]  # (a name for the operation, one TransactItems entry)


class StoreUnavailable(Exception):
    """DynamoDB could not be read or written; the caller may retry."""


def transact(client: Any, operations: Sequence[Operation]) -> set[str]:
    """Run the operations as one transaction; the names of those whose condition failed (empty on
    success). A transaction cancelled for conflicting with another one on the same item (parallel turns
    of one client share its token counter) is run again, after a short random pause. StoreUnavailable
    for anything else: throttling that botocore's retries did not cure, an outage."""
    for attempt in range(CONFLICT_ATTEMPTS):
        try:
            client.transact_write_items(TransactItems=[operation for _, operation in operations])
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                raise StoreUnavailable("transaction failed") from error
            reasons = error.response.get("CancellationReasons") or []
            codes = [reason.get("Code") for reason in reasons]
            failed = {
                name
                for (name, _), code in zip(operations, codes, strict=False)
                if code == "ConditionalCheckFailed"
            }
            if failed:
                return failed
            if "TransactionConflict" in codes and attempt + 1 < CONFLICT_ATTEMPTS:
                time.sleep(random.uniform(0, CONFLICT_PAUSE_SECONDS * 2**attempt))  # noqa: S311 - jitter
                continue
            raise StoreUnavailable("transaction cancelled") from error
        except BotoCoreError as error:
            raise StoreUnavailable("transaction failed") from error
        return set()
    raise StoreUnavailable("transaction cancelled")  # unreachable: the last attempt raises or returns


def batch_get(
    client: Any, table_name: str, wanted: list[dict[str, str]]
) -> dict[tuple[str, str], dict[str, Any]]:
    """The items of the keys that exist, by (pk, sk), read consistently."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    request: dict[str, Any] = {table_name: {"Keys": wanted, "ConsistentRead": True}}
    try:
        for _ in range(MAX_BATCH_GET_ROUNDS):
            response = client.batch_get_item(RequestItems=request)
            for item in response.get("Responses", {}).get(table_name, []):
                found[(item["pk"], item["sk"])] = item
            request = response.get("UnprocessedKeys") or {}
            if not request:
                return found
    except (ClientError, BotoCoreError) as error:
        raise StoreUnavailable("read failed") from error
    raise StoreUnavailable("read throttled")


def get(table: Any, key: dict[str, str]) -> dict[str, Any] | None:
    """One item, read consistently; None if there is none."""
    try:
        item: dict[str, Any] | None = table.get_item(Key=key, ConsistentRead=True).get("Item")
    except (ClientError, BotoCoreError) as error:
        raise StoreUnavailable("read failed") from error
    return item
