"""POST /api/jobs/{id}/cancel and /api/jobs/cancel: queued jobs removed, a running one interrupted,
both ending in the history and in /api/jobs as cancelled; unknown and finished ids answered clearly."""

from __future__ import annotations

import asyncio
import time

import aiohttp
from server_harness import simple_prompt, slow_prompt

from server.store import CANCELLED


def _wait_status(live, job_id: str, wanted: str, timeout: float = 20) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, job = live.json("GET", f"/api/jobs/{job_id}")
        if status == 200 and job["status"] == wanted:
            return job
        time.sleep(0.02)
    raise AssertionError(f"job {job_id} did not become {wanted}")


def test_cancel_one_queued_and_one_running_job(live):
    running = live.queue_prompt(slow_prompt(steps=500, delay_ms=20))["prompt_id"]
    live.wait_running(running)
    queued = live.queue_prompt(simple_prompt(2))["prompt_id"]

    assert live.json("POST", f"/api/jobs/{queued}/cancel") == (200, {"id": queued, "cancelled": "pending"})
    assert live.json("GET", "/queue")[1]["queue_pending"] == []
    job = live.json("GET", f"/api/jobs/{queued}")[1]
    assert job["status"] == "cancelled" and job["outputs_count"] == 0
    assert job["execution_status"]["messages"][0][0] == "execution_interrupted"
    assert live.state.store.status_of(queued) == CANCELLED

    assert live.json("POST", f"/api/jobs/{running}/cancel") == (200, {"id": running, "cancelled": "in_progress"})
    job = _wait_status(live, running, "cancelled")
    assert live.state.store.status_of(running) == CANCELLED
    assert live.json("GET", f"/history/{running}")[1][running]["status"]["status_str"] == "error"
    assert job["execution_status"]["messages"][-1][0] == "execution_interrupted"

    # Cancelled jobs are listed with the finished ones, as the newer editor polls them.
    status, body = live.json("GET", "/api/jobs?status=completed,failed,cancelled&limit=64&offset=0")
    assert status == 200 and {j["id"] for j in body["jobs"]} == {queued, running}
    assert body["pagination"] == {"offset": 0, "limit": 64, "total": 2, "has_more": False}
    assert live.json("GET", "/api/jobs?status=completed")[1]["jobs"] == []

    # Once finished there is nothing left to cancel; an id never seen is not found.
    status, body = live.json("POST", f"/api/jobs/{running}/cancel")
    assert status == 409 and body["status"] == CANCELLED and "already finished" in body["error"]
    assert live.json("POST", "/api/jobs/no-such-job/cancel") == (404, {"error": "Job not found"})


def test_cancel_many_sorts_each_id(live):
    done = live.queue_prompt(simple_prompt(1))["prompt_id"]
    live.wait_done(done)
    running = live.queue_prompt(slow_prompt(steps=500, delay_ms=20))["prompt_id"]
    live.wait_running(running)
    first = live.queue_prompt(simple_prompt(3))["prompt_id"]
    second = live.queue_prompt(simple_prompt(4))["prompt_id"]
    kept = live.queue_prompt(simple_prompt(5))["prompt_id"]

    async def post():
        async with aiohttp.ClientSession() as session:
            async with session.post(f"{live.url}/api/jobs/cancel",
                                    json={"job_ids": [second, running, "ghost", done, first, second]}) as resp:
                return resp.status, await resp.json()

    status, body = asyncio.run(post())
    assert status == 200
    assert body == {"cancelled": [second, first], "interrupted": [running], "finished": [done], "not_found": ["ghost"]}
    assert [item[1] for item in live.json("GET", "/queue")[1]["queue_pending"]] in ([kept], [])
    _wait_status(live, running, "cancelled")
    live.wait_done(kept)  # the queue goes on with what was not cancelled
    statuses = {j["id"]: j["status"] for j in live.json("GET", "/api/jobs")[1]["jobs"]}
    assert statuses == {done: "completed", running: "cancelled", first: "cancelled", second: "cancelled",
                        kept: "completed"}


def test_cancel_many_refuses_a_bad_body(live):
    for body in ({}, {"job_ids": "abc"}, {"job_ids": [1, 2]}, [["x"]]):
        status, answer = live.json("POST", "/api/jobs/cancel", body)
        assert status == 400 and "job_ids" in answer["error"], body
    status, _ = live.json("POST", "/api/jobs/cancel", raw=b"{not json", headers={"Content-Type": "application/json"})
    assert status == 400


def test_cancel_between_leaving_the_queue_and_starting(live):
    """An id the store already marked running, before the worker took it up, still ends cancelled."""
    worker = live.state.worker
    store = live.state.store
    worker._stopping = True  # park the worker loop so the test controls the hand-over
    store.wake()
    time.sleep(0.6)
    item_id = live.queue_prompt(slow_prompt(steps=50, delay_ms=5))["prompt_id"]
    item = store.pop_next(timeout=1)
    assert item.prompt_id == item_id and worker.current_prompt_id is None
    assert worker.cancel(item_id) is True
    worker._stopping = False
    worker._run(item)
    assert store.status_of(item_id) == CANCELLED
