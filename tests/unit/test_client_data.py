"""scripts/client_data.py with moto: a client's every session is exported to a private new file and
erased on --apply, another client's data is untouched, and no message text is printed."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from scripts.client_data import main
from tests.unit.conftest import DEFAULT_CLIENT, ChatEnv, chat, invoke, rest_event
from tests.unit.stage_session import StageSession

OTHER = "apikeyid-client-b"


@pytest.fixture
def held(chat_env: ChatEnv) -> StageSession:
    for session_id in ("session-0001", "session-0002"):
        assert chat(session_id, f"secret words for {session_id}").status == 200
    reply = invoke(rest_event("GET", "/conversations/session-0002")).body["messages"][-1]["messageId"]
    path = f"/conversations/session-0002/messages/{reply}/feedback"
    given = invoke(rest_event("POST", path, body={"rating": "down", "comment": "my comment"}))
    assert given.status == 200
    other = rest_event(
        "POST", "/chat", body={"sessionId": "session-0009", "message": "not mine"}, api_key_id=OTHER
    )
    assert invoke(other).status == 200
    chat_env.table.put_item(Item={"pk": f"CLIENT#{DEFAULT_CLIENT}", "sk": "PROFILE", "tier": "standard"})
    return StageSession(ConversationTableName=chat_env.table.name)


def _run(session: StageSession, *arguments: str) -> int:
    return main(["--stage", "dev", "--client", DEFAULT_CLIENT, *arguments], session=session)


def _conversation_items(chat_env: ChatEnv, client: str) -> list[dict]:
    return [i for i in chat_env.all_items() if i["pk"].startswith(f"CONV#{client}#")]


def test_the_export_holds_every_session_and_is_readable_by_its_owner_only(
    held: StageSession, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "request.json"

    assert _run(held, "export", "--out", str(out)) == 0

    document = json.loads(out.read_text())
    assert document["client"] == DEFAULT_CLIENT
    assert document["tier"] == "standard"
    sessions = {s["sessionId"]: s["messages"] for s in document["sessions"]}
    assert set(sessions) == {"session-0001", "session-0002"}
    assert sessions["session-0001"][0] == {
        "role": "user",
        "content": "secret words for session-0001",
        "createdAtMs": sessions["session-0001"][0]["createdAtMs"],
    }
    assert [m["role"] for m in sessions["session-0002"]] == ["user", "assistant"]
    feedback = sessions["session-0002"][1]["feedback"]  # the feedback given, comment included
    assert (feedback["rating"], feedback["comment"]) == ("down", "my comment")
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    printed = capsys.readouterr().out
    assert "exported 2 sessions, 4 messages" in printed
    assert "secret words" not in printed


def test_an_export_never_overwrites_a_file(held: StageSession, tmp_path: Path) -> None:
    out = tmp_path / "request.json"
    out.write_text("earlier export")

    assert _run(held, "export", "--out", str(out)) == 2

    assert out.read_text() == "earlier export"


def test_erase_is_a_dry_run_until_apply_then_leaves_nothing_of_the_client_and_all_of_the_others(
    held: StageSession, chat_env: ChatEnv, capsys: pytest.CaptureFixture[str]
) -> None:
    others = _conversation_items(chat_env, OTHER)

    assert _run(held, "erase") == 0
    assert len(_conversation_items(chat_env, DEFAULT_CLIENT)) > 0

    assert _run(held, "erase", "--apply") == 0

    left = [i for i in _conversation_items(chat_env, DEFAULT_CLIENT) if i["sk"] != "STATE"]
    assert left == []  # the state items that stay are empty tombstones (generation, expiry)
    assert _conversation_items(chat_env, OTHER) == others
    assert "erased 2 sessions, 4 messages" in capsys.readouterr().out
    assert invoke(rest_event("GET", "/conversations/session-0001")).body["messages"] == []
