"""Restore the conversation table to a point in time, into a new table, and copy it back when decided.

    python -m scripts.restore_table --stage prod restore --to 2026-11-23T10:00:00Z          # dry run
    python -m scripts.restore_table --stage prod restore --to 2026-11-23T10:00:00Z --apply
    python -m scripts.restore_table --stage prod copy-back --from <restored table>           # dry run
    python -m scripts.restore_table --stage prod copy-back --from <restored table> --apply

restore: DynamoDB point-in-time recovery (35 days) into `<table>-restored-<time>`, encrypted with the
stage's data key, on demand, with the sessions index. The live table is not touched; the stage keeps
serving from it. A restored table has no PITR, TTL or deletion protection of its own (DynamoDB does not
carry them over): it is a working copy, to read or copy from, and to delete when done.

copy-back: writes every item of the restored table into the live table, over items with the same key.
Items written to the live table after the restore point stay (and erasures made since then must be made
again: docs/runbooks/restore-from-backup.md). Turn the kill switch on first, so no turn writes meanwhile.

The table stays the stack's (its logical ID is pinned), so there is no switch of table names to deploy.
Prints names, times and counts, never items. Needs AWS credentials for the stage; exits 1 on failure.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from scripts.erase_conversation import stage_table


class RefusedRestore(ValueError):
    """A time outside the recovery window, or a source that is not a restore of this stage's table."""


def recovery_window(dynamodb: Any, table_name: str) -> tuple[datetime, datetime]:
    described = dynamodb.describe_continuous_backups(TableName=table_name)["ContinuousBackupsDescription"]
    pitr = described["PointInTimeRecoveryDescription"]
    if pitr.get("PointInTimeRecoveryStatus") != "ENABLED":
        raise RefusedRestore(f"point-in-time recovery is not enabled on {table_name}")
    return pitr["EarliestRestorableDateTime"], pitr["LatestRestorableDateTime"]


def parse_time(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise RefusedRestore(f"{text!r} is not an ISO time, e.g. 2026-11-23T10:00:00Z") from None
    if moment.tzinfo is None:
        raise RefusedRestore("give the time with its zone, e.g. 2026-11-23T10:00:00Z")
    return moment.astimezone(UTC)


def restored_name(table_name: str, moment: datetime) -> str:
    return f"{table_name}-restored-{moment:%Y%m%d%H%M}"


def restore(dynamodb: Any, table_name: str, moment: datetime) -> str:
    earliest, latest = recovery_window(dynamodb, table_name)
    if not earliest <= moment <= latest:
        raise RefusedRestore(f"{moment:%Y-%m-%dT%H:%M:%SZ} is outside the window {earliest} .. {latest}")
    # The stage's data key, as the live table's (a restore would otherwise use an AWS-owned key).
    described = dynamodb.describe_table(TableName=table_name)["Table"]
    key = described.get("SSEDescription", {}).get("KMSMasterKeyArn")
    encryption = {"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": key}
    target = restored_name(table_name, moment)
    dynamodb.restore_table_to_point_in_time(
        SourceTableName=table_name,
        TargetTableName=target,
        RestoreDateTime=moment,
        BillingModeOverride="PAY_PER_REQUEST",
        **({"SSESpecificationOverride": encryption} if key else {}),
    )
    return target


def copy_back(source: Any, live: Any) -> int:
    """Every item of ``source`` into ``live`` (boto3 Table resources); how many were written."""
    written = 0
    scan: dict[str, Any] = {"ConsistentRead": True}
    with live.batch_writer() as batch:
        while True:
            page = source.scan(**scan)
            for item in page.get("Items", []):
                batch.put_item(Item=item)
                written += 1
            if "LastEvaluatedKey" not in page:
                return written
            scan["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def main(argv: list[str] | None = None, *, session: Any = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stage", required=True, choices=["dev", "staging", "prod"])
    parser.add_argument("--region")
    commands = parser.add_subparsers(dest="command", required=True)
    into_new = commands.add_parser("restore", help="point-in-time recovery into a new table")
    into_new.add_argument("--to", required=True, help="ISO time with zone, e.g. 2026-11-23T10:00:00Z")
    back = commands.add_parser("copy-back", help="the restored table's items into the live table")
    back.add_argument("--from", dest="source", required=True, help="the restored table's name")
    for command in (into_new, back):
        command.add_argument("--apply", action="store_true", help="default: dry run")
    args = parser.parse_args(argv)
    if session is None:
        import boto3

        session = boto3.Session(region_name=args.region)
    dynamodb = session.client("dynamodb")
    try:
        live = stage_table(session.client("cloudformation"), session.resource("dynamodb"), args.stage)
        if args.command == "restore":
            moment = parse_time(args.to)
            earliest, latest = recovery_window(dynamodb, live.name)
            print(f"{live.name}: restorable from {earliest} to {latest}")
            if not args.apply:
                target = restored_name(live.name, moment)
                print(f"dry run: would restore {moment:%Y-%m-%dT%H:%M:%SZ} into {target}")
                return 0
            target = restore(dynamodb, live.name, moment)
            print(f"restoring into {target}, which takes minutes to hours; to wait for it (the wait gives up")
            print(
                f"after about 8 minutes: run it again): aws dynamodb wait table-exists --table-name {target}"
            )
            return 0
        if not args.source.startswith(f"{live.name}-restored-"):
            raise RefusedRestore(f"{args.source} is not a restore of {live.name} (made by this script)")
        source = session.resource("dynamodb").Table(args.source)
        count = source.item_count  # approximate (DynamoDB updates it every six hours)
        print(f"{args.source}: about {count} items; live table {live.name}")
        if not args.apply:
            print("dry run: nothing copied (turn the kill switch on, then add --apply)")
            return 0
        print(f"copied {copy_back(source, live)} items into {live.name}")
    except RefusedRestore as refusal:
        print(f"refused: {refusal}", file=sys.stderr)
        return 2
    except (ClientError, BotoCoreError, ValueError) as error:
        print(f"failed: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
