"""The Comfy API v2 jobs surface (server/routes_v2*.py) over real HTTP: submit, follow over SSE,
status and outputs, output download, cancel, list pages and filters, and the errors."""

from __future__ import annotations

import asyncio
import json
import time

import aiohttp
from server_harness import simple_prompt, slow_prompt

BLOCKER_STEPS = 2000


def _saving_prompt(value: int = 7, steps: int = 4) -> dict:
    return {"1": {"class_type": "Const", "inputs": {"value": value}},
            "2": {"class_type": "Slow", "inputs": {"value": ["1", 0], "steps": steps, "delay_ms": 10, "preview": 0}},
            "3": {"class_type": "SaveImage", "inputs": {"value": ["2", 0], "filename_prefix": "v2"}}}


def _submit(live, workflow: dict, **body) -> dict:
    status, job = live.json("POST", "/api/v2/jobs", {"workflow": workflow, **body})
    assert status == 201, job
    return job


def _wait(live, job_id: str, wanted: set[str], timeout: float = 20) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, job = live.json("GET", f"/api/v2/jobs/{job_id}")
        assert status == 200, job
        if job["status"] in wanted:
            return job
        time.sleep(0.02)
    raise AssertionError(f"job {job_id} did not reach {wanted}")


async def _read_sse(url: str, timeout: float = 20, on_first=None) -> list[tuple[str, dict]]:
    """Every (event, data) of one SSE stream until the server ends it."""
    events: list[tuple[str, dict]] = []
    async with aiohttp.ClientSession() as session:
        async with session.get(url, timeout=aiohttp.ClientTimeout(total=timeout)) as resp:
            assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/event-stream")
            name, data = None, []
            async for raw in resp.content:
                line = raw.decode().rstrip("\n")
                if line.startswith("event: "):
                    name = line[7:]
                elif line.startswith("data: "):
                    data.append(line[6:])
                elif line == "" and name is not None:
                    events.append((name, json.loads("\n".join(data))))
                    if len(events) == 1 and on_first is not None:
                        await on_first()
                    name, data = None, []
    return events


def test_submit_follow_over_sse_read_and_download(live):
    blocker = _submit(live, slow_prompt(steps=BLOCKER_STEPS, delay_ms=5))["id"]
    live.wait_running(blocker)
    job = _submit(live, _saving_prompt(), metadata={"batch": "a"})
    assert job["status"] == "queued" and job["queue_position"] == 0 and job["metadata"] == {"batch": "a"}
    assert job["urls"] == {"self": f"/api/v2/jobs/{job['id']}", "events": f"/api/v2/jobs/{job['id']}/events",
                           "cancel": f"/api/v2/jobs/{job['id']}/cancel"}
    # The same job through the ComfyUI routes: one queue.
    assert [item[1] for item in live.json("GET", "/queue")[1]["queue_pending"]] == [job["id"]]

    async def release_blocker():
        await asyncio.get_running_loop().run_in_executor(None, live.json, "POST", f"/api/v2/jobs/{blocker}/cancel")

    events = asyncio.run(_read_sse(live.url + job["urls"]["events"], on_first=release_blocker))
    names = [name for name, _ in events]
    assert events[0] == ("status", {"status": "queued", "queue_position": 0})
    assert ("status", {"status": "running", "queue_position": None}) in events
    assert events[-1] == ("status", {"status": "succeeded", "queue_position": None})
    running_at, output_at = names.index("status", 1), names.index("output")
    assert running_at < names.index("progress") < output_at < len(names) - 1
    values = [data["value"] for name, data in events if name == "progress"]
    assert values == sorted(values) and values[-1] <= 1
    assert any(data["current_node_class"] == "Slow" and data["steps"] == 4 for name, data in events
               if name == "progress")
    streamed = events[output_at][1]

    status, done = live.json("GET", f"/api/v2/jobs/{job['id']}")
    assert status == 200 and done["status"] == "succeeded" and done["error"] is None
    assert done["progress"]["value"] == 1.0 and done["started_at"] and done["completed_at"]
    assert done["metrics"]["execution_ms"] >= 0
    (output,) = done["outputs"]
    assert output == streamed
    assert output["node_id"] == "3" and output["type"] == "image" and output["content_type"] == "image/png"
    path = live.root / "output" / output["name"]
    assert output["size_bytes"] == path.stat().st_size

    status, headers, body = live.request("GET", output["url"])
    assert status == 200 and body == path.read_bytes() and headers["content-type"] == "image/png"
    status, _, part = live.request("GET", output["url"], headers={"Range": "bytes=0-7"})
    assert status == 206 and part == body[:8]
    assert live.json("GET", f"/api/v2/jobs/{job['id']}/outputs/nope")[0] == 404

    # A finished job's stream is its terminal status, at once.
    assert asyncio.run(_read_sse(live.url + job["urls"]["events"])) == [
        ("status", {"status": "succeeded", "queue_position": None})]


def test_cancel_queued_and_running(live):
    running = _submit(live, slow_prompt(steps=BLOCKER_STEPS, delay_ms=5))["id"]
    live.wait_running(running)
    queued = _submit(live, simple_prompt(2))["id"]

    status, job = live.json("POST", f"/api/v2/jobs/{queued}/cancel")
    assert status == 200 and job["status"] == "canceled" and job["error"]["code"] == "canceled"
    assert live.json("GET", "/queue")[1]["queue_pending"] == []

    status, job = live.json("POST", f"/api/v2/jobs/{running}/cancel")
    assert status == 200 and job["status"] in ("canceling", "canceled")
    job = _wait(live, running, {"canceled"})
    assert job["completed_at"] and job["outputs"] == []
    # Idempotent: a finished job answers its terminal state; the ComfyUI view agrees.
    assert live.json("POST", f"/api/v2/jobs/{running}/cancel") == (200, job)
    assert live.json("GET", f"/api/jobs/{running}")[1]["status"] == "cancelled"
    status, body = live.json("POST", "/api/v2/jobs/no-such-job/cancel")
    assert status == 404 and body["error"]["code"] == "not_found"


def test_sse_joined_mid_run_sees_the_snapshot_then_the_cancel(live):
    job = _submit(live, slow_prompt(steps=BLOCKER_STEPS, delay_ms=5))
    live.wait_running(job["id"])

    async def cancel():
        await asyncio.get_running_loop().run_in_executor(None, live.json, "POST", job["urls"]["cancel"])

    events = asyncio.run(_read_sse(live.url + job["urls"]["events"], on_first=cancel))
    assert events[0] == ("status", {"status": "running", "queue_position": None})
    assert events[1][0] == "progress" and events[1][1]["nodes_total"] == 3
    statuses = [data["status"] for name, data in events if name == "status"]
    assert statuses == ["running", "canceling", "canceled"]
    assert live.json("GET", job["urls"]["self"])[1]["error"]["code"] == "canceled"


def test_list_pages_and_filters(live):
    workflows = [_saving_prompt(steps=1), simple_prompt(1), simple_prompt(2), simple_prompt(3)]
    ids = [_submit(live, w, metadata={"batch": "a" if n < 3 else "b"})["id"] for n, w in enumerate(workflows)]
    for job_id in ids:
        _wait(live, job_id, {"succeeded"})
    status, first = live.json("GET", "/api/v2/jobs?limit=3")
    assert status == 200 and len(first["jobs"]) == 3 and "next_cursor" in first
    assert all("outputs" not in j and "urls" not in j for j in first["jobs"])
    status, second = live.json("GET", f"/api/v2/jobs?limit=3&cursor={first['next_cursor']}")
    assert status == 200 and len(second["jobs"]) == 1 and "next_cursor" not in second
    listed = [j["id"] for j in first["jobs"] + second["jobs"]]
    assert sorted(listed) == sorted(ids)
    created = [j["created_at"] for j in first["jobs"] + second["jobs"]]
    assert created == sorted(created, reverse=True)

    status, body = live.json("GET", "/api/v2/jobs?metadata[batch]=b")
    assert status == 200 and [j["id"] for j in body["jobs"]] == [ids[3]]
    assert live.json("GET", "/api/v2/jobs?status=queued,running")[1] == {"jobs": []}
    assert len(live.json("GET", "/api/v2/jobs?status=succeeded")[1]["jobs"]) == 4

    for query, code in (("status=done", "invalid_request"), ("limit=0", "invalid_request"),
                        ("cursor=!!", "invalid_cursor"),
                        ("metadata[a]=1&metadata[b]=2&metadata[c]=3&metadata[d]=4", "invalid_metadata_filter")):
        status, body = live.json("GET", f"/api/v2/jobs?{query}")
        assert status == 400 and body["error"]["code"] == code, query


def test_a_failed_job_carries_its_error(live):
    failing = {"1": {"class_type": "Const", "inputs": {"value": 1}},
               "2": {"class_type": "Fail", "inputs": {"value": ["1", 0]}},
               "3": {"class_type": "Show", "inputs": {"value": ["2", 0]}}}
    job = _wait(live, _submit(live, failing)["id"], {"failed"})
    error = job["error"]
    assert error["code"] == "node_execution_error" and error["node_id"] == "2" and error["class_type"] == "Fail"
    assert error["message"] == "stub node failed on purpose" and isinstance(error["traceback"], (str, type(None)))
    assert job["outputs"] == [] and job["progress"]["value"] == 0.0


def test_bad_input_is_answered_clearly(live):
    for path in ("/api/v2/jobs/ghost", "/api/v2/jobs/ghost/events", "/api/v2/jobs/ghost/outputs/x"):
        status, body = live.json("GET", path)
        assert status == 404 and body["error"]["code"] == "not_found" and "ghost" in body["error"]["message"]

    status, _, raw = live.request("POST", "/api/v2/jobs", raw=b"{not json", headers={"Content-Type": "application/json"})
    assert status == 400 and json.loads(raw)["error"]["code"] == "invalid_request"
    status, body = live.json("POST", "/api/v2/jobs", {"prompt": simple_prompt()})
    assert status == 400 and "'workflow' object" in body["error"]["message"]
    status, body = live.json("POST", "/api/v2/jobs", {"workflow": simple_prompt(), "webhook_url": "http://x"})
    assert status == 400 and "webhook_url" in body["error"]["message"]
    status, body = live.json("POST", "/api/v2/jobs", {"workflow": simple_prompt(), "extra_data": []})
    assert status == 400 and body["error"]["details"] == {"field": "extra_data"}
    status, body = live.json("POST", "/api/v2/jobs", {"workflow": {"nodes": [], "links": []}})
    assert status == 422 and body["error"]["code"] == "workflow_format_ui"

    # Validation failures carry ComfyUI's own answer in details.
    broken = {"1": {"class_type": "SaveImage", "inputs": {"filename_prefix": "x"}}}
    status, body = live.json("POST", "/api/v2/jobs", {"workflow": broken})
    assert status == 422 and body["error"]["code"] == "invalid_workflow"
    details = body["error"]["details"]
    assert details["error"]["type"] == "prompt_outputs_failed_validation"
    assert details["node_errors"]["1"]["errors"][0]["type"] == "required_input_missing"
    status, body = live.json("POST", "/api/v2/jobs", {"workflow": {"1": {"class_type": "NoSuchNode", "inputs": {}}}})
    assert status == 422 and body["error"]["details"]["error"]["type"] == "missing_node_type"
    assert body["error"]["details"]["error"]["extra_info"]["class_type"] == "NoSuchNode"
    assert live.json("GET", "/queue")[1] == {"queue_running": [], "queue_pending": []}


def test_idempotency_key_and_openapi(live):
    headers = {"Idempotency-Key": "order-42", "Content-Type": "application/json"}
    body = json.dumps({"workflow": simple_prompt(5)}).encode()
    status, first_headers, first = live.request("POST", "/api/v2/jobs", raw=body, headers=headers)
    assert status == 201 and "idempotency-replayed" not in first_headers
    status, again_headers, again = live.request("POST", "/api/v2/jobs", raw=body, headers=headers)
    assert status == 201 and again_headers["idempotency-replayed"] == "true"
    assert json.loads(again)["id"] == json.loads(first)["id"]
    other = json.dumps({"workflow": simple_prompt(6)}).encode()
    status, _, refused = live.request("POST", "/api/v2/jobs", raw=other, headers=headers)
    assert status == 422 and json.loads(refused)["error"]["code"] == "idempotency_key_reuse"

    status, document = live.json("GET", "/api/v2/openapi.json")
    assert status == 200 and document["openapi"].startswith("3.1")
    assert {"/api/v2/jobs", "/api/v2/jobs/{id}", "/api/v2/jobs/{id}/events", "/api/v2/jobs/{id}/cancel",
            "/api/v2/jobs/{id}/outputs/{output_id}"} <= set(document["paths"])
    job = _wait(live, json.loads(first)["id"], {"succeeded"})
    schemas = document["components"]["schemas"]
    assert set(schemas["Job"]["required"]) <= set(job)
    assert job["status"] in schemas["JobStatus"]["enum"]
    assert set(schemas["Progress"]["required"]) <= set(job["progress"])


def test_a_stopping_server_ends_open_streams(live):
    _submit(live, slow_prompt(steps=BLOCKER_STEPS, delay_ms=5))
    live.wait_running()
    queued = _submit(live, simple_prompt(3))

    async def stop():
        await asyncio.get_running_loop().run_in_executor(None, live.stop)

    # The stream ends (well before the read's timeout) without a terminal status: the job never ran.
    events = asyncio.run(_read_sse(live.url + queued["urls"]["events"], on_first=stop))
    assert events == [("status", {"status": "queued", "queue_position": 0})]
