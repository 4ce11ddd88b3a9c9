"""A chat turn's reads and writes in three DynamoDB calls: one read and one transaction before the model
is asked, one transaction after it.

read()   BatchGetItem: the session's state (recent turns, generation, version), a running turn of the same
         message, the client's tier, the quota counters and, for a first turn, the cached answer.
admit()  TransactWriteItems, all or nothing: count the session's request and reserve the tokens (each
         conditional on the limit, so concurrent turns never commit more than the budget), store the
         user's message, mark the turn as running (a resend of the same message waits for it) and
         update the session's state, conditional on its generation and version.
finish() TransactWriteItems: store the reply, settle the tokens, keep the answer for resends waiting on
         it, cache a first answer, update the state; conditional on the generation, so a session
         erased while the model was thinking gets nothing written back.
abandon() TransactWriteItems: the model gave no answer; the request and its reservation do not count.
cut()     TransactWriteItems: a streamed reply stopped part-way; the request counts, the tokens spent are
          settled, the part is not stored.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from lambda_src.chat import keys
from lambda_src.chat.cache import CachePolicy, completion_from
from lambda_src.chat.dynamo import SECONDS_PER_DAY, Operation, StoreUnavailable, batch_get, get, transact
from lambda_src.chat.providers.base import Completion
from lambda_src.chat.quotas import Admission, QuotaExceeded, Tier, quota_day
from lambda_src.chat.turn_writes import TurnWrites, lease_held
from lambda_src.chat.turns import SessionErased, Snapshot, StateChanged, Turn, TurnInProgress

# The recent turns kept in the state item for the model; DynamoDB items hold at most 400 KB.
MAX_RECENT_BYTES = 300_000


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
        self._retention_seconds = retention_days * SECONDS_PER_DAY
        self._keep_messages = 2 * max(history_turns, 1)
        self._clock = clock
        self._writes = TurnWrites(table.name, retention_seconds=self._retention_seconds)
        self.cache = cache

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
        recent = self._recent(state, now)
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
        recent = self._bounded(recent)
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

    # -- after the model ---------------------------------------------------------------------------

    def finish(
        self, turn: Turn, completion: Completion, *, body: str, cached: bool
    ) -> tuple[Admission, bool]:
        """Store the reply and settle the quota; (the settled admission, whether the reply was stored).
        SessionErased if the session was erased meanwhile: then nothing is written."""
        used = 0 if cached else completion.usage.totalTokens or turn.admission.reserved_tokens
        settled = _settled(turn, used)
        delta = used - turn.admission.reserved_tokens
        now = self._clock()
        settle = delta
        version = turn.version
        recent = turn.recent
        for _ in range(3):
            reply = {"role": "assistant", "content": completion.text, "at": int(now * 1000)}
            operations = self._finishing(
                turn, completion, body, self._bounded([*recent, reply]), version, settle, cached, now
            )
            try:
                failed = transact(self._client, operations)
            except StoreUnavailable:
                return settled, False
            if not failed:
                return settled, True
            if "tokens" in failed:
                settle = 0  # the overage would pass the budget: charge the reservation, never more
                self._fill_to_budget(turn)
                continue
            if "state" in failed:
                current = get(self._table, keys.state_key(turn.snapshot.owner, turn.snapshot.session_id))
                if current is None or int(current.get("gen", 0)) != turn.generation:
                    raise SessionErased
                # Another turn of the session wrote in between: append to what is there now.
                version = int(current.get("ver", 0))
                recent = self._recent(current, now)
                continue
            if "pending" in failed:
                # Our running mark was taken over after our lease ran out: store the reply without it.
                operations = [op for op in operations if op[0] != "pending"]
                try:
                    return settled, not transact(self._client, operations)
                except StoreUnavailable:
                    return settled, False
            return settled, False
        return settled, False

    def abandon(self, turn: Turn) -> None:
        """The model gave no answer: the request and its reservation do not count; the user's message
        stays stored (a retry answers it without storing it twice)."""
        snapshot = turn.snapshot
        day = turn.admission.day
        operations = [
            self._writes.add(
                "requests", keys.session_counter_key(snapshot.owner, day, snapshot.session_id), "requests", -1
            ),
            self._writes.released(
                keys.pending_key(snapshot.owner, snapshot.session_id, snapshot.message), turn_id=turn.turn_id
            ),
        ]
        if turn.admission.reserved_tokens:
            operations.append(
                self._writes.add(
                    "tokens", keys.tokens_key(snapshot.owner, day), "used", -turn.admission.reserved_tokens
                )
            )
        if transact(self._client, operations):
            # Only the running mark can have failed (another turn took over after our lease): give the
            # quota back without it.
            transact(self._client, [op for op in operations if op[0] != "pending"])

    def cut(self, turn: Turn, *, used_tokens: int) -> Admission:
        """The reply stopped part-way (the provider cut it, or the caller went away): the part is not
        stored, so a retry of the message answers it and stores it once; the request counts, and the
        reservation is settled to ``used_tokens`` (never more than was reserved)."""
        snapshot = turn.snapshot
        used = min(used_tokens, turn.admission.reserved_tokens)
        refund = used - turn.admission.reserved_tokens
        operations = [
            self._writes.released(
                keys.pending_key(snapshot.owner, snapshot.session_id, snapshot.message), turn_id=turn.turn_id
            )
        ]
        if refund:
            operations.append(
                self._writes.add(
                    "tokens", keys.tokens_key(snapshot.owner, turn.admission.day), "used", refund
                )
            )
        if transact(self._client, operations):
            # Only the running mark can have failed (another turn took over after our lease).
            transact(self._client, [op for op in operations if op[0] != "pending"])
        return _settled(turn, used)

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

    # -- building blocks ---------------------------------------------------------------------------

    def _finishing(
        self,
        turn: Turn,
        completion: Completion,
        body: str,
        recent: list[dict[str, Any]],
        version: int,
        settle: int,
        cached: bool,
        now: float,
    ) -> list[Operation]:
        snapshot = turn.snapshot
        writes = self._writes
        operations = [
            writes.state(
                snapshot.owner, snapshot.session_id, recent, expected=(turn.generation, version), now=now
            ),
            writes.message(
                turn.partition,
                turn.turn_id,
                turn.created_ms,
                turn.generation,
                completion.text,
                reply=completion,
            ),
            writes.answered(
                keys.pending_key(snapshot.owner, snapshot.session_id, snapshot.message),
                turn_id=turn.turn_id,
                body=body,
                now=now,
            ),
        ]
        if settle:
            operations.append(
                writes.add(
                    "tokens",
                    keys.tokens_key(snapshot.owner, turn.admission.day),
                    "used",
                    settle,
                    limit=turn.tier.daily_tokens if settle > 0 else None,
                )
            )
        if self.cache is not None and turn.cache_key is not None and not cached:
            expires_at = int(now) + self.cache.ttl_seconds
            operations.extend(
                writes.cached(turn.partition, turn.cache_key, completion, expires_at=expires_at)
            )
        return operations

    def _fill_to_budget(self, turn: Turn) -> None:
        try:
            self._table.update_item(
                Key=keys.tokens_key(turn.snapshot.owner, turn.admission.day),
                UpdateExpression="SET used = :limit",
                ConditionExpression="used < :limit",
                ExpressionAttributeValues={":limit": turn.tier.daily_tokens},
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise StoreUnavailable("quota update failed") from error
        except BotoCoreError as error:
            raise StoreUnavailable("quota update failed") from error

    def _recent(self, state: dict[str, Any] | None, now: float) -> list[dict[str, Any]]:
        """The state's unexpired messages, oldest first, as plain values (DynamoDB gives Decimals).
        TTL deletes lazily, so expired messages are dropped here: they are never sent to the model."""
        return [
            {"role": str(m["role"]), "content": str(m["content"]), "at": int(m["at"])}
            for m in (state or {}).get("recent", [])
            if int(m["at"]) // 1000 + self._retention_seconds > now
        ]

    def _bounded(self, recent: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The newest messages that the model may be sent, within the item size limit."""
        kept = recent[-self._keep_messages :]
        while len(kept) > 1 and len(json.dumps(kept, ensure_ascii=False).encode()) > MAX_RECENT_BYTES:
            kept = kept[1:]
        return kept


def _settled(turn: Turn, used: int) -> Admission:
    """The turn's admission once ``used`` tokens replace its reservation."""
    admission = turn.admission
    return Admission(
        client=admission.client,
        day=admission.day,
        session_id=admission.session_id,
        reserved_tokens=used,
        tokens_remaining=admission.tokens_remaining - (used - admission.reserved_tokens),
        session_requests_remaining=admission.session_requests_remaining,
    )
