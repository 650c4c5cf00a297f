"""Pausing and reordering the queue through a real server: POST /queue {"pause"|"resume"|"move"},
`paused` in GET /queue and in the WebSocket status, the pause surviving a restart, every refusal."""

from __future__ import annotations

import asyncio
import sqlite3
import time

import pytest
from server_harness import LiveServer, collect_ws, simple_prompt, slow_prompt

from server.store import Store


def pending_ids(live) -> list[str]:
    return [item[1] for item in live.json("GET", "/queue")[1]["queue_pending"]]


def post(live, body) -> tuple[int, object]:
    return live.json("POST", "/queue", body)


def idle_a_while(live) -> None:
    """Longer than the worker's wait on the queue (0.5 s): a paused worker had its chance to start one."""
    time.sleep(0.7)
    assert live.state.worker.current_prompt_id is None


def test_nothing_starts_while_paused_and_resume_starts_the_next(live):
    assert live.json("GET", "/queue")[1] == {"queue_running": [], "queue_pending": []}
    assert post(live, {"pause": True})[0] == 200
    ids = [live.queue_prompt(simple_prompt(i))["prompt_id"] for i in (1, 2)]
    idle_a_while(live)
    assert live.json("GET", "/queue")[1]["paused"] is True and pending_ids(live) == ids
    assert post(live, {"resume": True})[0] == 200
    for pid in ids:
        assert live.wait_done(pid)["status"]["status_str"] == "success"
    assert live.json("GET", "/queue")[1] == {"queue_running": [], "queue_pending": []}


def test_the_running_prompt_finishes_when_paused(live):
    slow = live.queue_prompt(slow_prompt(steps=30, delay_ms=20))["prompt_id"]
    live.wait_running(slow)
    assert post(live, {"pause": True})[0] == 200
    later = live.queue_prompt(simple_prompt(5))["prompt_id"]
    assert live.wait_done(slow)["status"]["status_str"] == "success"
    idle_a_while(live)
    assert pending_ids(live) == [later]
    post(live, {"resume": True})
    live.wait_done(later)


def test_pause_survives_a_restart(tmp_path):
    live = LiveServer(tmp_path)
    post(live, {"pause": True})
    pid = live.queue_prompt(simple_prompt(3))["prompt_id"]
    live.stop()
    live = LiveServer(tmp_path)
    try:
        idle_a_while(live)
        assert live.json("GET", "/queue")[1]["paused"] is True and pending_ids(live) == [pid]
        post(live, {"resume": True})
        live.wait_done(pid)
    finally:
        live.stop()
    store = Store.open(tmp_path / "queue.db", synchronous="NORMAL")
    assert store.paused is False
    store.close()


def test_an_older_database_gains_the_settings_table(tmp_path):
    store = Store.open(tmp_path / "q.db", synchronous="NORMAL")
    store.close()
    with sqlite3.connect(tmp_path / "q.db") as conn:
        conn.execute("DROP TABLE settings")
    store = Store.open(tmp_path / "q.db", synchronous="NORMAL")
    assert store.paused is False and store.set_paused(True) and not store.set_paused(True)
    store.close()
    store = Store.open(tmp_path / "q.db", synchronous="NORMAL")
    assert store.paused is True
    store.close()


def test_every_move_form_and_the_run_order_after_resume(live):
    post(live, {"pause": True})
    a, b, c, d = (live.queue_prompt(simple_prompt(i))["prompt_id"] for i in range(4))
    assert post(live, {"move": {"prompt_id": d, "to": "front"}})[0] == 200
    assert pending_ids(live) == [d, a, b, c]
    assert post(live, {"move": {"prompt_id": d, "to": "back"}})[0] == 200
    assert pending_ids(live) == [a, b, c, d]
    assert post(live, {"move": {"prompt_id": a, "before": d}})[0] == 200
    assert pending_ids(live) == [b, c, a, d]
    assert post(live, {"move": {"prompt_id": d, "before": b}})[0] == 200
    assert pending_ids(live) == [d, b, c, a]
    assert post(live, {"move": {"prompt_id": d, "to": "front"}})[0] == 200  # already there: no change
    numbers = [item[0] for item in live.json("GET", "/queue")[1]["queue_pending"]]
    assert numbers == sorted(numbers) == [0, 1, 2, 3]  # the same numbers, handed out in the new order
    e = live.queue_prompt(simple_prompt(9))["prompt_id"]
    f = live.queue_prompt(simple_prompt(10), front=True)["prompt_id"]
    assert pending_ids(live) == [f, d, b, c, a, e]
    post(live, {"resume": True})
    for pid in (f, d, b, c, a, e):
        live.wait_done(pid)
    assert list(live.json("GET", "/history")[1]) == [f, d, b, c, a, e]


def test_moving_among_equal_numbers_gives_a_total_order(tmp_path):
    store = Store.open(tmp_path / "q.db", synchronous="NORMAL")
    store.set_paused(True)
    for pid in "xyz":
        store.add(pid, {}, {}, [], number=7)
    assert store.move_pending("z", to="front") == ["z", "x", "y"]
    assert [it.prompt_id for it in store.queue()[1]] == ["z", "x", "y"]
    store.close()
    store = Store.open(tmp_path / "q.db", synchronous="NORMAL")
    assert [it.prompt_id for it in store.queue()[1]] == ["z", "x", "y"]
    store.close()


REFUSED_SHAPES = [
    ("not an object", ["pause"], "JSON object"),
    ("pause not a bool", {"pause": "yes"}, "'pause' must be true or false"),
    ("resume not a bool", {"resume": 1}, "'resume' must be true or false"),
    ("pause and resume", {"pause": True, "resume": True}, "cannot both be true"),
    ("move not an object", {"move": "front"}, "'move' must be an object"),
    ("prompt_id not a string", {"move": {"prompt_id": 3, "to": "front"}}, "'move.prompt_id' must be"),
    ("to and before", {"move": {"prompt_id": "A", "to": "front", "before": "B"}}, "exactly one of"),
    ("neither to nor before", {"move": {"prompt_id": "A"}}, "exactly one of"),
    ("to not front or back", {"move": {"prompt_id": "A", "to": "middle"}}, "\"front\" or \"back\""),
    ("before not a string", {"move": {"prompt_id": "A", "before": 2}}, "'move.before' must be"),
    ("before itself", {"move": {"prompt_id": "A", "before": "A"}}, "before itself"),
    ("unknown key", {"move": {"prompt_id": "A", "after": "B"}}, "unknown keys ['after']"),
    ("unknown prompt", {"move": {"prompt_id": "nope", "to": "back"}}, "no pending prompt has the id 'nope'"),
    ("before unknown", {"move": {"prompt_id": "A", "before": "nope"}}, "no pending prompt has the id 'nope'"),
    ("move the running one", {"move": {"prompt_id": "RUN", "to": "back"}}, "is running"),
    ("before the running one", {"move": {"prompt_id": "A", "before": "RUN"}}, "is running"),
    ("a refused move with a delete", {"delete": ["A"], "move": {"prompt_id": "nope", "to": "front"}}, "no pending"),
    ("a refused move with a pause", {"pause": True, "move": {"prompt_id": "A", "before": "nope"}}, "no pending"),
]


@pytest.fixture
def busy(live):
    """A running slow prompt and two pending ones; ids by name."""
    run = live.queue_prompt(slow_prompt(steps=500, delay_ms=20))["prompt_id"]
    live.wait_running(run)
    ids = {"RUN": run, "A": live.queue_prompt(simple_prompt(1))["prompt_id"],
           "B": live.queue_prompt(simple_prompt(2))["prompt_id"]}
    yield live, ids
    live.state.worker.interrupt()


def _named(value, ids):
    if isinstance(value, dict):
        return {k: _named(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_named(v, ids) for v in value]
    return ids.get(value, value) if isinstance(value, str) else value


@pytest.mark.parametrize(("body", "message"), [(b, m) for _, b, m in REFUSED_SHAPES],
                         ids=[name for name, _, _ in REFUSED_SHAPES])
def test_a_refused_request_says_why_and_changes_nothing(busy, body, message):
    live, ids = busy
    before = live.json("GET", "/queue")[1]
    status, answer = post(live, _named(body, ids))
    assert status == 400 and message in answer["error"]["message"], answer
    assert answer["error"]["type"] == "invalid_request"
    assert live.json("GET", "/queue")[1] == before


def test_the_websocket_status_carries_paused(live):
    async def pause_then_resume():
        await asyncio.to_thread(post, live, {"pause": True})
        await asyncio.to_thread(post, live, {"resume": True})

    def resumed(messages):
        flags = [m["data"]["status"]["exec_info"].get("paused") for m in messages
                 if isinstance(m, dict) and m["type"] == "status"]
        return flags[:1] == [None] and True in flags and flags[-1] is None and len(flags) >= 3

    messages = asyncio.run(collect_ws(live.url, "pauser", resumed, on_open=pause_then_resume))
    statuses = [m["data"]["status"]["exec_info"] for m in messages if isinstance(m, dict) and m["type"] == "status"]
    assert statuses == [{"queue_remaining": 0}, {"queue_remaining": 0, "paused": True},
                        {"queue_remaining": 0}]  # unpaused: ComfyUI's exact exec_info


def test_comfyui_clear_and_delete_still_work_while_paused(live):
    post(live, {"pause": True})
    a, b, c = (live.queue_prompt(simple_prompt(i))["prompt_id"] for i in range(3))
    assert post(live, {"delete": [b]})[0] == 200 and pending_ids(live) == [a, c]
    assert post(live, {"clear": True})[0] == 200 and pending_ids(live) == []
    assert live.json("GET", "/queue")[1]["paused"] is True
