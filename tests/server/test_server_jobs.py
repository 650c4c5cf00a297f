"""GET /api/jobs and /api/jobs/{id}: the queue and history as jobs, with filters and paging."""

from __future__ import annotations

from server_harness import simple_prompt, slow_prompt


def test_jobs_list_filters_sorting_and_paging(live):
    done = live.queue_prompt(simple_prompt(1, output="SaveImage"),
                             extra_data={"extra_pnginfo": {"workflow": {"id": "wf-1"}}})["prompt_id"]
    live.wait_done(done)
    fail = {"1": {"class_type": "Const", "inputs": {"value": 1}}, "2": {"class_type": "Fail", "inputs": {"value": ["1", 0]}},
            "3": {"class_type": "Show", "inputs": {"value": ["2", 0]}}}
    failed = live.queue_prompt(fail)["prompt_id"]
    live.wait_done(failed)
    running = live.queue_prompt(slow_prompt(steps=300, delay_ms=20))["prompt_id"]
    live.wait_running(running)
    pending = live.queue_prompt(simple_prompt(2))["prompt_id"]

    status, body = live.json("GET", "/api/jobs")
    assert status == 200 and body["pagination"] == {"offset": 0, "limit": None, "total": 4, "has_more": False}
    by_id = {job["id"]: job for job in body["jobs"]}
    assert {pid: by_id[pid]["status"] for pid in by_id} == {done: "completed", failed: "failed",
                                                          running: "in_progress", pending: "pending"}
    assert by_id[done]["workflow_id"] == "wf-1" and by_id[done]["outputs_count"] == 1
    assert by_id[done]["preview_output"]["nodeId"] == "2" and by_id[done]["preview_output"]["mediaType"] == "images"
    assert by_id[failed]["execution_error"]["node_id"] == "2"
    assert [job["id"] for job in body["jobs"]][0] == pending  # newest first

    assert [j["id"] for j in live.json("GET", "/api/jobs?status=completed,failed&sort_order=asc")[1]["jobs"]] == \
        [done, failed]
    assert [j["id"] for j in live.json("GET", "/api/jobs?workflow_id=wf-1")[1]["jobs"]] == [done]
    page = live.json("GET", "/api/jobs?limit=2&offset=1&sort_order=asc")[1]
    assert [j["id"] for j in page["jobs"]] == [failed, running] and page["pagination"]["has_more"] is True
    for bad in ("status=bogus", "sort_by=name", "sort_order=up", "limit=0", "limit=x", "offset=-1"):
        status, body = live.json("GET", f"/api/jobs?{bad}")
        assert status == 400 and isinstance(body["error"], str)

    job = live.json("GET", f"/api/jobs/{done}")[1]
    assert job["outputs"]["2"]["images"][0]["type"] == "output" and job["workflow"]["prompt"]["1"]["class_type"] == "Const"
    assert live.json("GET", f"/api/jobs/{pending}")[1]["status"] == "pending"
    assert live.json("GET", "/api/jobs/nope") == (404, {"error": "Job not found"})
    live.json("POST", "/interrupt", {})
