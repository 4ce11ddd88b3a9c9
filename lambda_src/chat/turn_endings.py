"""How an admitted turn ends, each in one TransactWriteItems (lambda_src/chat/session_store.py admits it):

finish() the reply stored, the tokens settled, the answer kept for resends waiting on it, a first answer
         cached, the state updated; conditional on the generation, so a session erased while the
         model was thinking gets nothing written back.
abandon() the model gave no answer: the request and its reservation do not count.
cut()    a streamed reply stopped part-way: the request counts, the tokens spent are settled, the part
         is not stored.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from lambda_src.chat import keys
from lambda_src.chat.cache import CachePolicy
from lambda_src.chat.dynamo import Operation, StoreUnavailable, get, transact
from lambda_src.chat.providers.base import Completion
from lambda_src.chat.quotas import Admission
from lambda_src.chat.recent_window import RecentWindow
from lambda_src.chat.turn_writes import TurnWrites
from lambda_src.chat.turns import SessionErased, Turn


class TurnEndings:
    def __init__(
        self,
        table: Any,
        *,
        writes: TurnWrites,
        window: RecentWindow,
        clock: Callable[[], float],
        cache: CachePolicy | None,
    ) -> None:
        self._table = table
        self._client = table.meta.client
        self._writes = writes
        self._window = window
        self._clock = clock
        self.cache = cache

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
                turn, completion, body, self._window.bounded([*recent, reply]), version, settle, cached, now
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
                recent = self._window.recent(current, now)
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
        if self.cache is not None and turn.cache_key is not None and not cached and not completion.blocked:
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
