"""Retrying POST /prompt with a client-supplied `prompt_id` (issue 20, item 9): the identical body gets
the first answer again (200, same number) and is queued once; a different body keeps the 409."""

from __future__ import annotations

import json
import sqlite3
from concurrent.futures import ThreadPoolExecutor

from server_harness import simple_prompt

from server.store import Store

# Client-supplied prompt ids must be canonical UUIDs (ComfyUI since v0.8).
RETRY = {i: f"00000000-0000-4000-8000-00000000000{i}" for i in range(1, 7)}


def pending_ids(live) -> list[str]:
    return [item[1] for item in live.json("GET", "/queue")[1]["queue_pending"]]


def test_a_retry_while_queued_gets_the_first_answer(live):
    live.state.worker.stop()
    body = {"prompt": simple_prompt(3), "prompt_id": RETRY[1], "client_id": "c", "extra_data": {"k": [1, 2]}}
    first = live.json("POST", "/prompt", body)
    assert first[0] == 200
    live.queue_prompt(simple_prompt(4))  # moves the counter on: a re-queue would get another number
    again = live.json("POST", "/prompt", body)
    assert again == first
    assert pending_ids(live).count(RETRY[1]) == 1 and len(pending_ids(live)) == 2


def test_key_order_and_spacing_do_not_matter(live):
    live.state.worker.stop()
    body = {"prompt_id": RETRY[2], "prompt": simple_prompt(3), "number": 7}
    first = live.json("POST", "/prompt", body)[1]
    raw = json.dumps({"number": 7, "prompt": simple_prompt(3), "prompt_id": RETRY[2]}, indent=3).encode()
    status, _, payload = live.request("POST", "/prompt", raw=raw, headers={"Content-Type": "application/json"})
    assert status == 200 and json.loads(payload) == first == {"prompt_id": RETRY[2], "number": 7, "node_errors": {}}


def test_a_retry_after_the_prompt_ran_is_not_run_again(live):
    body = {"prompt": simple_prompt(5), "prompt_id": RETRY[3]}
    first = live.json("POST", "/prompt", body)
    live.wait_done(RETRY[3])
    assert live.json("POST", "/prompt", body) == first
    assert live.state.store.counts() == {"success": 1}
    assert pending_ids(live) == [] and list(live.json("GET", "/history")[1]) == [RETRY[3]]


def test_a_different_body_with_the_same_id_is_still_409(live):
    live.state.worker.stop()
    live.queue_prompt(simple_prompt(1), prompt_id=RETRY[4])
    for changed in ({"prompt": simple_prompt(2)}, {"prompt": simple_prompt(1), "front": True},
                    {"prompt": simple_prompt(1), "client_id": "other"}):
        status, body = live.json("POST", "/prompt", {**changed, "prompt_id": RETRY[4]})
        assert status == 409 and body["error"]["type"] == "duplicate_prompt_id"
    assert pending_ids(live) == [RETRY[4]]


def test_node_errors_of_the_first_answer_are_repeated(live):
    live.state.worker.stop()
    prompt = simple_prompt(5)
    prompt["3"] = {"class_type": "Show", "inputs": {"value": ["99", 0]}}
    body = {"prompt": prompt, "prompt_id": RETRY[5]}
    first = live.json("POST", "/prompt", body)
    assert first[0] == 200 and list(first[1]["node_errors"]) == ["3"]
    assert live.json("POST", "/prompt", body) == first


def test_concurrent_identical_requests_queue_once(live):
    live.state.worker.stop()
    body = {"prompt": simple_prompt(9), "prompt_id": RETRY[6]}
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: live.json("POST", "/prompt", body), range(16)))
    assert all(answer == answers[0] for answer in answers) and answers[0][0] == 200
    assert pending_ids(live) == [RETRY[6]]


def test_server_chosen_ids_are_never_matched(live):
    live.state.worker.stop()
    a = live.queue_prompt(simple_prompt(1))
    b = live.queue_prompt(simple_prompt(1))
    assert a["prompt_id"] != b["prompt_id"] and len(pending_ids(live)) == 2


def test_a_database_of_the_older_layout_is_upgraded(tmp_path):
    """A queue written before the idempotency columns opens; its prompts answer 409 to any retry."""
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript("""
        CREATE TABLE prompts (seq INTEGER PRIMARY KEY AUTOINCREMENT, prompt_id TEXT NOT NULL UNIQUE,
            number REAL NOT NULL, prompt TEXT NOT NULL, extra_data TEXT NOT NULL, outputs TEXT NOT NULL,
            sensitive TEXT, status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, created REAL NOT NULL,
            finished REAL, done_order INTEGER, result TEXT);
        CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
        INSERT INTO prompts(prompt_id, number, prompt, extra_data, outputs, status, created)
            VALUES ('old', 3, '{}', '{}', '[]', 'pending', 0);""")
    conn.commit()
    conn.close()
    store = Store.open(path, synchronous="NORMAL")
    try:
        assert [item.prompt_id for item in store.queue()[1]] == ["old"]
        assert store.first_answer("old", "any") is None
        store.add("new", {}, {}, [], request_hash="h", node_errors={"1": {"errors": []}})
        assert store.first_answer("new", "h") == {"prompt_id": "new", "number": 0, "node_errors": {"1": {"errors": []}}}
        assert store.first_answer("new", "other") is None
    finally:
        store.close()
