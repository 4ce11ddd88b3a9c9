"""The DynamoDB calls the chat's stores share: a named transaction that says which conditions failed,
a consistent batched read, and the one error every store raises when DynamoDB cannot answer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

SECONDS_PER_DAY = 86_400
# BatchGetItem hands back what it could not read in time; read those again this many times at most.
MAX_BATCH_GET_ROUNDS = 5

Operation = tuple[str, dict[str, Any]]  # (a name for the operation, one TransactItems entry)


class StoreUnavailable(Exception):
    """DynamoDB could not be read or written; the caller may retry."""


def transact(client: Any, operations: Sequence[Operation]) -> set[str]:
    """Run the operations as one transaction; the names of those whose condition failed (empty on
    success). StoreUnavailable for anything else: throttling, a conflicting transaction, an outage."""
    try:
        client.transact_write_items(TransactItems=[operation for _, operation in operations])
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
            raise StoreUnavailable("transaction failed") from error
        reasons = error.response.get("CancellationReasons") or []
        failed = {
            name
            for (name, _), reason in zip(operations, reasons, strict=False)
            if reason.get("Code") == "ConditionalCheckFailed"
        }
        if not failed:  # throttled or conflicting with another transaction: worth a retry
            raise StoreUnavailable("transaction cancelled") from error
        return failed
    except BotoCoreError as error:
        raise StoreUnavailable("transaction failed") from error
    return set()


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
