"""Erase a client's conversation as DELETE /conversations/{sessionId} does, for a request that reaches the
operators by other means (a support ticket, a letter): its messages, running and answered turns, its
jobs and their replies, idempotency records and the answers it cached.

    python -m scripts.erase_conversation --stage prod --client <key id | user-<sub>> --list
    python -m scripts.erase_conversation --stage prod --client <...> --session <id>           # dry run
    python -m scripts.erase_conversation --stage prod --client <...> --session <id> --apply

The client is the API key's id (not its value) or, for a person on the chat page, `user-<sub>` with the
Cognito user's sub. Prints ids and counts only, never text. Needs AWS credentials for the stage.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from typing import Any

from boto3.dynamodb.conditions import Key

from lambda_src.chat import keys
from lambda_src.chat.history import ConversationHistory


def stage_table(cloudformation: Any, dynamodb: Any, stage: str) -> Any:
    described = cloudformation.describe_stacks(StackName=f"{stage}-ChatbotData")["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
    return dynamodb.Table(outputs["ConversationTableName"])


def what_is_held(table: Any, client: str, session_id: str) -> Counter[str]:
    """The session's items by kind (messages, running or answered turns, jobs, cached answers, state,
    idempotency records)."""
    kinds: Counter[str] = Counter()
    query: dict[str, Any] = {
        "KeyConditionExpression": Key("pk").eq(keys.session_partition(client, session_id)),
        "ProjectionExpression": "sk",
        "ConsistentRead": True,
    }
    while True:
        response = table.query(**query)
        for item in response.get("Items", []):
            kinds[_kind(str(item["sk"]))] += 1
        if "LastEvaluatedKey" not in response:
            return kinds
        query["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def _kind(sort_key: str) -> str:
    for prefix, kind in (
        (keys.TURN_PREFIX, "messages"),
        (keys.PENDING_PREFIX, "running or answered turns"),
        (keys.JOB_REF_PREFIX, "jobs"),
        (keys.CACHE_REF_PREFIX, "cached answers"),
    ):
        if sort_key.startswith(prefix):
            return kind
    return "state" if sort_key == keys.STATE else "idempotency records"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stage", required=True, choices=["dev", "staging", "prod"])
    parser.add_argument(
        "--client", required=True, help="the API key id, or user-<sub> for a signed-in person"
    )
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--session", help="the sessionId to erase")
    target.add_argument("--list", action="store_true", help="list the client's sessions")
    parser.add_argument("--apply", action="store_true", help="erase (default: dry run)")
    parser.add_argument("--region")
    args = parser.parse_args(argv)

    import boto3

    session = boto3.Session(region_name=args.region)
    table = stage_table(session.client("cloudformation"), session.resource("dynamodb"), args.stage)
    history = ConversationHistory(table, clock=time.time)
    if args.list:
        after = None
        while True:
            found, after = history.sessions(args.client, limit=100, after=after)
            for item in found:
                active = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(item["lastActiveAtMs"] / 1000))
                print(f"{item['sessionId']}  last active {active}")
            if after is None:
                return 0
    held = what_is_held(table, args.client, args.session)
    print(", ".join(f"{kind}: {n}" for kind, n in sorted(held.items())) or "nothing held for this session")
    if not args.apply:
        print("dry run: nothing erased (add --apply to erase)")
        return 0
    deleted = history.erase(args.client, args.session)
    print(f"erased: {deleted} messages, with the session's jobs, cached answers and idempotency records")
    return 0


if __name__ == "__main__":
    sys.exit(main())
