"""scripts/restore_table.py with moto: a point in time inside the recovery window is restored into a new
table encrypted with the live table's key, the live table untouched; copy-back writes it back; times
outside the window and foreign tables are refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from scripts.restore_table import main, restored_name
from tests.unit.conftest import REGION, ChatEnv, chat
from tests.unit.stage_session import StageSession


@pytest.fixture
def stage(chat_env: ChatEnv) -> StageSession:
    client = boto3.client("dynamodb", region_name=REGION)
    client.update_continuous_backups(
        TableName=chat_env.table.name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )
    return StageSession(ConversationTableName=chat_env.table.name)


def _window(chat_env: ChatEnv) -> dict[str, Any]:
    client = boto3.client("dynamodb", region_name=REGION)
    described = client.describe_continuous_backups(TableName=chat_env.table.name)
    return dict(described["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"])


def _tables() -> list[str]:
    return list(boto3.client("dynamodb", region_name=REGION).list_tables()["TableNames"])


def test_a_dry_run_shows_the_window_and_the_new_tables_name_and_restores_nothing(
    stage: StageSession, chat_env: ChatEnv, capsys: pytest.CaptureFixture[str]
) -> None:
    moment = _window(chat_env)["LatestRestorableDateTime"].astimezone(UTC)
    before = _tables()

    assert main(["--stage", "dev", "restore", "--to", moment.isoformat()], session=stage) == 0

    out = capsys.readouterr().out
    assert "restorable from" in out
    assert restored_name(chat_env.table.name, moment) in out
    assert _tables() == before


def test_apply_restores_into_a_new_table_and_copy_back_writes_it_into_the_live_one(
    stage: StageSession, chat_env: ChatEnv, capsys: pytest.CaptureFixture[str]
) -> None:
    assert chat("session-0001", "kept in the backup").status == 200
    moment = _window(chat_env)["LatestRestorableDateTime"].astimezone(UTC)
    target = restored_name(chat_env.table.name, moment)
    held = chat_env.all_items()

    assert main(["--stage", "dev", "restore", "--to", moment.isoformat(), "--apply"], session=stage) == 0
    assert target in _tables()

    with chat_env.table.batch_writer() as batch:  # the mistake the restore undoes
        for item in held:
            batch.delete_item(Key={"pk": item["pk"], "sk": item["sk"]})
    assert main(["--stage", "dev", "copy-back", "--from", target], session=stage) == 0
    assert chat_env.all_items() == []
    assert main(["--stage", "dev", "copy-back", "--from", target, "--apply"], session=stage) == 0
    assert chat_env.all_items() == held
    assert f"copied {len(held)} items" in capsys.readouterr().out
    boto3.client("dynamodb", region_name=REGION).delete_table(TableName=target)


def test_times_outside_the_window_and_foreign_tables_are_refused(
    stage: StageSession, chat_env: ChatEnv
) -> None:
    too_early = _window(chat_env)["EarliestRestorableDateTime"] - timedelta(days=1)
    tomorrow = datetime.now(UTC) + timedelta(days=1)

    assert main(["--stage", "dev", "restore", "--to", too_early.isoformat(), "--apply"], session=stage) == 2
    assert main(["--stage", "dev", "restore", "--to", tomorrow.isoformat(), "--apply"], session=stage) == 2
    assert main(["--stage", "dev", "restore", "--to", "yesterday", "--apply"], session=stage) == 2
    assert main(["--stage", "dev", "restore", "--to", "2026-11-23T10:00:00", "--apply"], session=stage) == 2
    assert main(["--stage", "dev", "copy-back", "--from", "someone-elses", "--apply"], session=stage) == 2
