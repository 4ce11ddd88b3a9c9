"""POST /chat/jobs and GET /chat/jobs/{jobId}: queued, answered by the worker, owned, erased."""

from __future__ import annotations

import time
import uuid

from tests.contract.target import Answer, Target

JOB_SECONDS = 90  # the queue's delivery, the worker's cold start and the model's reply


def _until_settled(target: Target, location: str) -> Answer:
    deadline = time.monotonic() + JOB_SECONDS
    while True:
        answer = target.call("GET", location)
        assert answer.status == 200, answer.body
        assert answer.body["status"] in {"queued", "running", "done", "failed"}
        if answer.body["status"] in {"done", "failed"} or time.monotonic() > deadline:
            return answer
        time.sleep(1)


def test_a_job_is_queued_then_answered(target: Target, session: str) -> None:
    queued = target.call("POST", "/chat/jobs", {"sessionId": session, "message": "Contract test: a job."})
    assert queued.status == 202, queued.body
    assert queued.body["status"] == "queued"
    job_id = queued.body["jobId"]
    assert queued.headers["location"] == f"/api/chat/jobs/{job_id}"
    settled = _until_settled(target, f"/chat/jobs/{job_id}")
    assert settled.body["status"] == "done", settled.body
    assert settled.body["jobId"] == job_id
    assert settled.body["sessionId"] == session
    assert isinstance(settled.body["reply"], str)
    assert settled.body["reply"].strip()
    assert all(isinstance(v, int) for v in settled.body["usage"].values())


def test_the_same_idempotency_key_gives_the_same_job(target: Target, session: str) -> None:
    key = {"Idempotency-Key": f"integ-{uuid.uuid4().hex}"}
    body = {"sessionId": session, "message": "Contract test: one job only."}
    first = target.call("POST", "/chat/jobs", body, headers=key)
    second = target.call("POST", "/chat/jobs", body, headers=key)
    assert first.status == second.status == 202
    assert first.body["jobId"] == second.body["jobId"]
    _until_settled(target, f"/chat/jobs/{first.body['jobId']}")


def test_an_unknown_job_is_404_and_an_erased_sessions_job_is_gone(target: Target, session: str) -> None:
    assert target.call("GET", f"/chat/jobs/{uuid.uuid4().hex}").status == 404
    malformed = target.call("GET", f"/chat/jobs/{uuid.uuid4()}")
    assert malformed.status == 400
    assert "jobId" in malformed.message()
    queued = target.call("POST", "/chat/jobs", {"sessionId": session, "message": "Contract test: erase."})
    location = f"/chat/jobs/{queued.body['jobId']}"
    _until_settled(target, location)
    assert target.call("DELETE", f"/conversations/{session}").status == 204
    assert target.call("GET", location).status == 404
