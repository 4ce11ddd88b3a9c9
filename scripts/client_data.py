"""Everything a client or a signed-in person keeps here, for a data request: list it, export it to a file,
or erase it (GDPR articles 15, 17 and 20), as the routes do for one session at a time.

    python -m scripts.client_data --stage prod --client <key id | user-<sub>> list
    python -m scripts.client_data --stage prod --client <...> export --out request-123.json
    python -m scripts.client_data --stage prod --client <...> erase                 # dry run: counts
    python -m scripts.client_data --stage prod --client <...> erase --apply

Sessions are found through the sessions index, expired ones included (TTL deletes them up to two days
late). The export holds every session's messages with their times, and the client's tier; it is written
with owner-only permissions and never over an existing file. Erasure is the DELETE route's, session by
session: messages, running and answered turns, jobs and their replies, idempotency records, cached
answers. What stays: the API key's tier profile (no personal data; revoke the key with
scripts/revoke_api_key.py) and the daily quota counters (numbers, expiring within two days). Prints ids
and counts only, never text. Needs AWS credentials for the stage; exits 1 on failure.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import BotoCoreError, ClientError

from lambda_src.chat import keys
from lambda_src.chat.dynamo import StoreUnavailable
from lambda_src.chat.history import ConversationHistory
from scripts.erase_conversation import stage_table

# More than any session holds: a transcript is read whole.
ALL_MESSAGES = 1_000_000


def session_ids(table: Any, client: str) -> list[str]:
    """Every session of the client in the index, expired ones included."""
    found: list[str] = []
    query: dict[str, Any] = {
        "IndexName": keys.SESSIONS_INDEX,
        "KeyConditionExpression": Key(keys.SESSION_OWNER).eq(client),
        "ProjectionExpression": "sessionId",
    }
    while True:
        response = table.query(**query)
        found.extend(str(item["sessionId"]) for item in response.get("Items", []))
        if "LastEvaluatedKey" not in response:
            return found
        query["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def export(table: Any, client: str, *, now: float) -> dict[str, Any]:
    # The clock at 0: expired messages not yet deleted by TTL are still held, so they are exported.
    history = ConversationHistory(table, clock=lambda: 0)
    sessions = []
    for session_id in session_ids(table, client):
        messages, _ = history.transcript(client, session_id, limit=ALL_MESSAGES)
        sessions.append({"sessionId": session_id, "messages": messages})
    profile = table.get_item(Key=keys.profile_key(client), ConsistentRead=True).get("Item")
    return {
        "client": client,
        "exportedAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
        "tier": str(profile["tier"]) if profile else None,
        "sessions": sessions,
    }


def write_private(path: Path, document: dict[str, Any]) -> None:
    """Owner-only permissions from the first byte, and never over an existing file."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        json.dump(document, out, ensure_ascii=False, indent=2, default=str)


def erase_all(table: Any, client: str) -> tuple[int, int]:
    """(sessions, messages) erased."""
    history = ConversationHistory(table, clock=time.time)
    ids = session_ids(table, client)
    return len(ids), sum(history.erase(client, session_id) for session_id in ids)


def main(argv: list[str] | None = None, *, session: Any = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stage", required=True, choices=["dev", "staging", "prod"])
    parser.add_argument(
        "--client", required=True, help="the API key id, or user-<sub> for a signed-in person"
    )
    parser.add_argument("--region")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="the client's sessions")
    to_file = commands.add_parser("export", help="every session's messages, to a new file")
    to_file.add_argument("--out", required=True, type=Path)
    erase = commands.add_parser("erase", help="erase every session (dry run unless --apply)")
    erase.add_argument("--apply", action="store_true")
    args = parser.parse_args(argv)
    if session is None:
        import boto3

        session = boto3.Session(region_name=args.region)
    try:
        table = stage_table(session.client("cloudformation"), session.resource("dynamodb"), args.stage)
        if args.command == "list":
            ids = session_ids(table, args.client)
            print(f"{len(ids)} sessions" + "".join(f"\n  {i}" for i in ids))
        elif args.command == "export":
            document = export(table, args.client, now=time.time())
            write_private(args.out, document)
            messages = sum(len(s["messages"]) for s in document["sessions"])
            print(f"exported {len(document['sessions'])} sessions, {messages} messages to {args.out}")
        elif not args.apply:
            print(f"{len(session_ids(table, args.client))} sessions; dry run: nothing erased (add --apply)")
        else:
            sessions, messages = erase_all(table, args.client)
            print(f"erased {sessions} sessions, {messages} messages, with their jobs, turns and records")
    except FileExistsError:
        print(f"refused: {args.out} exists; an export never overwrites a file", file=sys.stderr)
        return 2
    except (ClientError, BotoCoreError, StoreUnavailable) as error:
        print(f"failed: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
