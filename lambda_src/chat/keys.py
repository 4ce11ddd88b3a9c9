"""Where everything lives in the one table. A session's items share its partition, so that erasing the
session is one query away from finding all of them.

Session partition  pk = CONV#<client>#<session>
    sk = STATE                   the last turns sent to the model, a generation (bumped by erasure) and a
                                 version (bumped by every write); sessionOwner/lastActiveAtMs feed the
                                 sessions index (GET /conversations)
    sk = TURN#<ms>#<turn>#<0|1>  the transcript: one item per message, user (0) then assistant (1)
    sk = PENDING#<message hash>  a turn being answered (double submits wait for it), then its answer
    sk = JOBREF#<job id>         a job of the session (the job's own item is JOB#<client>#<job id>)
    sk = CACHEREF#<key>          an answer this session put in the cache (CACHE#<key>)
    sk = <function>#<hash>       Powertools idempotency records of the session's requests
Elsewhere
    QUOTA#<client>#<day> / TOKENS | SESSION#<session>     quota counters
    CLIENT#<client> / PROFILE                            the client's tier
    CACHE#<key> / ANSWER                                 a cached first-turn answer
    JOB#<client>#<job id> / JOB                          a job's status and result
"""

from __future__ import annotations

import hashlib

STATE = "STATE"
TURN_PREFIX = "TURN#"
PENDING_PREFIX = "PENDING#"
JOB_REF_PREFIX = "JOBREF#"
CACHE_REF_PREFIX = "CACHEREF#"
# The global secondary index that lists a client's sessions, newest first.
SESSIONS_INDEX = "sessions"
SESSION_OWNER = "sessionOwner"
LAST_ACTIVE = "lastActiveAtMs"

Key = dict[str, str]


def session_partition(owner: str, session_id: str) -> str:
    return f"CONV#{owner}#{session_id}"


def state_key(owner: str, session_id: str) -> Key:
    return {"pk": session_partition(owner, session_id), "sk": STATE}


def turn_sort_key(created_ms: int, turn_id: str, index: int) -> str:
    return f"{TURN_PREFIX}{created_ms:013d}#{turn_id}#{index}"


def message_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def pending_key(owner: str, session_id: str, text: str) -> Key:
    return {"pk": session_partition(owner, session_id), "sk": PENDING_PREFIX + message_hash(text)}


def quota_partition(owner: str, day: str) -> str:
    return f"QUOTA#{owner}#{day}"


def tokens_key(owner: str, day: str) -> Key:
    return {"pk": quota_partition(owner, day), "sk": "TOKENS"}


def session_counter_key(owner: str, day: str, session_id: str) -> Key:
    return {"pk": quota_partition(owner, day), "sk": f"SESSION#{session_id}"}


def profile_key(owner: str) -> Key:
    return {"pk": f"CLIENT#{owner}", "sk": "PROFILE"}


def cache_item_key(key: str) -> Key:
    return {"pk": f"CACHE#{key}", "sk": "ANSWER"}


def job_key(owner: str, job_id: str) -> Key:
    return {"pk": f"JOB#{owner}#{job_id}", "sk": "JOB"}
