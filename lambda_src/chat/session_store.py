"""A chat turn's reads and writes in three DynamoDB calls: one read and one transaction before the model
is asked, one transaction after it.

read()   BatchGetItem: the session's state (recent turns, generation, version), a running turn of the same
         message, the client's tier, the quota counters and, for a first turn, the cached answer.
admit()  TransactWriteItems, all or nothing: count the session's request and reserve the tokens (each
         conditional on the limit, so concurrent turns never commit more than the budget), store the
         user's message, mark the turn as running (a resend of the same message waits for it) and
         update the session's state, conditional on its generation and version.
finish(), abandon(), cut(): how the turn ends, one TransactWriteItems each (turn_endings.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lambda_src.chat import keys
from lambda_src.chat.cache import CachePolicy, completion_from
from lambda_src.chat.dynamo import SECONDS_PER_DAY, Operation, batch_get, get, transact
from lambda_src.chat.providers.base import Completion
from lambda_src.chat.quotas import Admission, QuotaExceeded, Tier, quota_day
from lambda_src.chat.recent_window import RecentWindow
from lambda_src.chat.turn_endings import TurnEndings
from lambda_src.chat.turn_writes import TurnWrites, lease_held
from lambda_src.chat.turns import SessionErased, Snapshot, StateChanged, Turn, TurnInProgress


class SessionStore:
    def __init__(
        self,
        table: Any,
        *,
        retention_days: int,
        history_turns: int,
        clock: Callable[[], float],
        cache: CachePolicy | None = None,
    ) -> None:
        self._table = table
        self._client = table.meta.client
        self._name = table.name
        retention_seconds = retention_days * SECONDS_PER_DAY
        self._window = RecentWindow(retention_seconds, keep_messages=2 * max(history_turns, 1))
        self._clock = clock
        self._writes = TurnWrites(table.name, retention_seconds=retention_seconds)
        self.cache = cache
        self._endings = TurnEndings(table, writes=self._writes, window=self._window, clock=clock, cache=cache)

    # -- before the model --------------------------------------------------------------------------

    def read(self, owner: str, session_id: str, message: str, *, cache_key: str | None) -> Snapshot:
        now = self._clock()
        day, _, _ = quota_day(now)
        wanted = {
            "state": keys.state_key(owner, session_id),
            "pending": keys.pending_key(owner, session_id, message),
            "profile": keys.profile_key(owner),
            "tokens": keys.tokens_key(owner, day),
            "requests": keys.session_counter_key(owner, day, session_id),
        }
        if cache_key is not None:
            wanted["cache"] = keys.cache_item_key(cache_key)
        found = batch_get(self._client, self._name, list(wanted.values()))
        item = {name: found.get((key["pk"], key["sk"])) for name, key in wanted.items()}

        state = item["state"]
        recent = self._window.recent(state, now)
        pending = item["pending"]
        running = (
            pending if pending and pending.get("status") == "running" and lease_held(pending, now) else None
        )
        cached = None
        answer = item.get("cache")
        if answer and not recent and int(answer["expiresAt"]) > now:
            cached = completion_from(answer)
        return Snapshot(
            owner=owner,
            session_id=session_id,
            message=message,
            recent=recent,
            retried=bool(recent) and recent[-1]["role"] == "user" and recent[-1]["content"] == message,
            state=(int(state.get("gen", 0)), int(state.get("ver", 0))) if state else None,
            tier_name=str(item["profile"]["tier"]) if item["profile"] and "tier" in item["profile"] else None,
            cached=cached,
            tokens_used=int((item["tokens"] or {}).get("used", 0)),
            session_requests=int((item["requests"] or {}).get("requests", 0)),
            running=running,
        )

    def admit(
        self,
        snapshot: Snapshot,
        *,
        turn_id: str,
        tier: Tier,
        tokens: int,
        lease_seconds: float,
        answer_within: float | None = None,
        cache_key: str | None = None,
        requires: dict[str, str] | None = None,
    ) -> Turn:
        """Reserve and record the turn; QuotaExceeded, TurnInProgress or StateChanged if it cannot be,
        SessionErased if the item ``requires`` names (a job's record) is gone."""
        now = self._clock()
        day, until_reset, counters_expire = quota_day(now)
        remaining = {
            "tokens": max(tier.daily_tokens - snapshot.tokens_used, 0),
            "session_requests": max(tier.session_requests - snapshot.session_requests, 0),
        }
        if tokens > tier.daily_tokens:  # more than the whole allowance: no state of the day could admit it
            raise QuotaExceeded("daily_tokens", retry_after=until_reset, remaining=remaining)
        created_ms = int(now * 1000)
        generation, version = snapshot.state or (0, 0)
        recent = snapshot.recent
        if not snapshot.retried:
            recent = [*recent, {"role": "user", "content": snapshot.message, "at": created_ms}]
        recent = self._window.bounded(recent)
        owner, session_id = snapshot.owner, snapshot.session_id
        answer_by = now + (answer_within or lease_seconds)

        writes = self._writes
        operations: list[Operation] = [
            writes.add(
                "requests",
                keys.session_counter_key(owner, day, session_id),
                "requests",
                1,
                limit=tier.session_requests,
                expires_at=counters_expire,
            )
        ]
        if tokens:
            operations.append(
                writes.add(
                    "tokens",
                    keys.tokens_key(owner, day),
                    "used",
                    tokens,
                    limit=tier.daily_tokens,
                    expires_at=counters_expire,
                )
            )
        if not snapshot.retried:
            partition = keys.session_partition(owner, session_id)
            operations.append(writes.message(partition, turn_id, created_ms, generation, snapshot.message))
        operations.append(
            writes.running(
                keys.pending_key(owner, session_id, snapshot.message),
                turn_id=turn_id,
                generation=generation,
                now=now,
                lease_until=now + lease_seconds,
                answer_by=answer_by,
            )
        )
        operations.append(writes.state(owner, session_id, recent, expected=snapshot.state, now=now))
        if requires is not None:
            operations.append(writes.exists("required", requires))
        failed = transact(self._client, operations)
        if "required" in failed:
            raise SessionErased
        # A running turn of the same message first: a resend waits for its answer, whatever the quota.
        if "pending" in failed:
            raise TurnInProgress(answer_by=answer_by, now=now)
        if "requests" in failed:
            remaining["session_requests"] = 0
            raise QuotaExceeded("session_requests", retry_after=until_reset, remaining=remaining)
        if "tokens" in failed:
            raise QuotaExceeded("daily_tokens", retry_after=until_reset, remaining=remaining)
        if failed:
            raise StateChanged
        admission = Admission(
            client=owner,
            day=day,
            session_id=session_id,
            reserved_tokens=tokens,
            tokens_remaining=tier.daily_tokens - snapshot.tokens_used - tokens,
            session_requests_remaining=tier.session_requests - snapshot.session_requests - 1,
        )
        return Turn(
            snapshot=snapshot,
            turn_id=turn_id,
            created_ms=created_ms,
            tier=tier,
            admission=admission,
            generation=generation,
            version=version + 1,
            recent=recent,
            cache_key=cache_key,
        )

    # -- after the model (turn_endings.py) -----------------------------------------------------------

    def finish(
        self, turn: Turn, completion: Completion, *, body: str, cached: bool
    ) -> tuple[Admission, bool]:
        """Store the reply and settle the quota; (the settled admission, whether the reply was stored).
        SessionErased if the session was erased meanwhile: then nothing is written."""
        return self._endings.finish(turn, completion, body=body, cached=cached)

    def abandon(self, turn: Turn) -> None:
        """The model gave no answer: the request and its reservation do not count."""
        self._endings.abandon(turn)

    def cut(self, turn: Turn, *, used_tokens: int) -> Admission:
        """A streamed reply stopped part-way: not stored; the tokens spent are settled."""
        return self._endings.cut(turn, used_tokens=used_tokens)

    def answer_of(self, owner: str, session_id: str, message: str) -> tuple[str | None, float | None]:
        """For a resend waiting on a running turn: (the first answer's body, None) once it is done,
        (None, when it should be answered) while it runs, (None, None) if no turn runs it any more."""
        item = get(self._table, keys.pending_key(owner, session_id, message))
        if not item:
            return None, None
        if item.get("status") == "done":
            return str(item["body"]), None
        if not lease_held(item, self._clock()):
            return None, None
        return None, float(item.get("answerBy", item["leaseUntil"]))
