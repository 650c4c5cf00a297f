"""The main path: queue a workflow, follow its events in order, fetch the output through /view."""

from __future__ import annotations

import asyncio
import io
import json
import uuid

from PIL import Image
from server_harness import collect_ws, done_for, simple_prompt, slow_prompt


def test_queue_follow_events_and_view_output(live):
    client_id = uuid.uuid4().hex
    prompt = simple_prompt(7, output="SaveImage")
    accepted = {}

    async def submit():
        accepted.update(await asyncio.get_running_loop().run_in_executor(
            None, lambda: live.queue_prompt(prompt, client_id=client_id)))

    async def scenario():
        return await collect_ws(live.url, client_id, lambda m: accepted and done_for(accepted["prompt_id"])(m),
                                on_open=submit)

    messages = asyncio.run(scenario())
    prompt_id = accepted["prompt_id"]
    assert messages[0]["type"] == "status" and messages[0]["data"]["sid"] == client_id
    names = [m["type"] for m in messages if m["type"] not in ("status", "progress_state")]
    assert names == ["execution_start", "execution_cached", "executing", "executing", "executed",
                     "execution_success", "executing"]  # progress_state: test_server_progress_state.py
    executed = next(m["data"] for m in messages if m["type"] == "executed")
    assert executed["node"] == "2" and executed["prompt_id"] == prompt_id
    image_ref = executed["output"]["images"][0]

    # History is written before the final executing{node: null}.
    entry = live.wait_done(prompt_id, timeout=1)
    assert entry["status"] == {"status_str": "success", "completed": True, "messages": entry["status"]["messages"]}
    assert [m[0] for m in entry["status"]["messages"]] == ["execution_start", "execution_cached", "execution_success"]
    assert all("timestamp" in m[1] for m in entry["status"]["messages"])
    assert entry["prompt"][1] == prompt_id and entry["prompt"][4] == ["2"]
    assert entry["outputs"]["2"]["images"][0] == image_ref
    assert entry["prompt"][3]["client_id"] == client_id

    status, headers, body = live.request("GET", f"/view?filename={image_ref['filename']}&type=output&subfolder=")
    assert status == 200 and headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(body)).getpixel((0, 0))[0] == 7
    status, headers, body = live.request("GET", f"/api/view?filename={image_ref['filename']}&preview=webp;80")
    assert status == 200 and headers["content-type"] == "image/webp"
    assert Image.open(io.BytesIO(body)).format == "WEBP"


def test_second_identical_prompt_is_served_from_cache(live):
    first = live.queue_prompt(simple_prompt(3))
    live.wait_done(first["prompt_id"])
    second = live.queue_prompt(simple_prompt(3))
    entry = live.wait_done(second["prompt_id"])
    cached = dict(entry["status"]["messages"])["execution_cached"]["nodes"]
    assert "1" in cached


def test_prompt_without_client_id_gets_no_private_events_but_progress_broadcast(live):
    spectator = uuid.uuid4().hex
    accepted = {}

    async def submit():
        accepted.update(await asyncio.get_running_loop().run_in_executor(
            None, lambda: live.queue_prompt(slow_prompt(steps=3, delay_ms=5))))

    def until(messages):
        return any(m["type"] == "status" and m["data"]["status"]["exec_info"]["queue_remaining"] == 0
                   for m in messages[1:]) and accepted and live.state.worker.prompts_done >= 1

    messages = asyncio.run(collect_ws(live.url, spectator, until, on_open=submit))
    types = {m["type"] for m in messages}
    assert "progress" in types
    assert not types & {"execution_start", "executing", "executed", "execution_success"}


def test_get_prompt_and_queue_shapes(live):
    status, body = live.json("GET", "/prompt")
    assert status == 200 and body == {"exec_info": {"queue_remaining": 0}}
    status, body = live.json("GET", "/api/queue")
    assert body == {"queue_running": [], "queue_pending": []}


def test_history_pagination_and_delete(live):
    ids = [live.queue_prompt(simple_prompt(i))["prompt_id"] for i in range(4)]
    for pid in ids:
        live.wait_done(pid)
    _, everything = live.json("GET", "/history")
    assert list(everything) == ids
    _, newest = live.json("GET", "/history?max_items=2")
    assert list(newest) == ids[2:]
    _, page = live.json("GET", "/history?max_items=2&offset=1")
    assert list(page) == ids[1:3]
    assert live.json("GET", "/history?max_items=abc")[0] == 400
    assert live.json("GET", "/history/unknown") == (200, {})
    assert live.json("POST", "/history", {"delete": [ids[0]]})[0] == 200
    _, rest = live.json("GET", "/history")
    assert list(rest) == ids[1:]
    assert live.json("POST", "/history", {"delete": "x"})[0] == 400
    assert live.json("POST", "/history", {"clear": True})[0] == 200
    assert live.json("GET", "/history") == (200, {})


def test_status_broadcast_reaches_every_client_on_queue_change(live):
    other = uuid.uuid4().hex
    accepted = {}

    async def submit():
        accepted.update(await asyncio.get_running_loop().run_in_executor(
            None, lambda: live.queue_prompt(simple_prompt(1), client_id="someone-else")))

    messages = asyncio.run(collect_ws(
        live.url, other, lambda m: sum(1 for x in m if x["type"] == "status") >= 3, on_open=submit))
    statuses = [m["data"] for m in messages if m["type"] == "status"]
    assert "sid" in statuses[0] and all("sid" not in s for s in statuses[1:])
    assert json.dumps(messages).count("execution_start") == 0


def test_plan_route_previews_what_would_run(live):
    prompt = simple_prompt(21)
    status, body = live.json("POST", "/api/plan", {"prompt": prompt})
    assert status == 200 and body == {"run": ["1", "2"], "cached": []}
    live.wait_done(live.queue_prompt(prompt)["prompt_id"])
    assert live.json("POST", "/api/plan", {"prompt": prompt})[1]["cached"] == ["1", "2"]
    assert live.json("GET", "/queue")[1]["queue_pending"] == []
    assert live.json("POST", "/plan", {"prompt": {"1": {"class_type": "Nope"}}})[0] == 400
    assert live.json("POST", "/plan", {"nope": 1})[0] == 400
