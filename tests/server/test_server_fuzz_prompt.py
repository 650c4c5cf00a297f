"""Fuzzed POST /prompt and /plan bodies (issue 20) against one real-engine server: every answer is a
200 or a 4xx with a JSON error, never a 5xx; the server stays up; accepted = queued + running + history;
an accepted prompt that fails does so with a node's own ValueError, never a crash in the engine.
LATENTGRAPH_FUZZ_EXAMPLES=5000 runs longer (the default keeps CI to a few seconds)."""

from __future__ import annotations

import json
import time

import pytest
from fuzz_strategies import fuzz_settings, prompt_body
from hypothesis import given
from hypothesis import strategies as st
from real_engine_harness import real_server


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory):
    server = real_server(tmp_path_factory.mktemp("fuzz-prompt"))
    server.accepted = set()
    server.examples = 0
    yield server
    server.stop()


def check_answer(status: int, payload: bytes, what: str) -> dict:
    """A 2xx or a 4xx whose body is a JSON object with an error; anything else fails the test."""
    assert status < 500, f"{what} answered {status}: {payload[:500]!r}"
    assert 200 <= status < 300 or 400 <= status < 500, f"{what} answered {status}"
    body = json.loads(payload)
    assert isinstance(body, dict), f"{what} answered {status} with a body that is not an object"
    if status >= 400:
        assert body.get("error"), f"{what} answered {status} without an error: {payload[:500]!r}"
    return body


def run_failure(entry: dict) -> dict | None:
    """The execution_error of a history entry when it is not a node's deliberate ValueError."""
    if entry["status"]["status_str"] == "success":
        return None
    errors = [data for name, data in entry["status"]["messages"] if name == "execution_error"]
    if errors and errors[0].get("exception_type") == "ValueError":
        return None
    return {"status": entry["status"]["status_str"], "error": errors[:1], "prompt": entry["prompt"][2]}


@fuzz_settings(800)
@given(raw=prompt_body(), route=st.sampled_from(["/prompt"] * 4 + ["/plan"]))
def test_fuzzed_prompt_bodies_never_give_a_5xx(fuzz_server, raw, route):
    status, _, payload = fuzz_server.request("POST", route, raw=raw, headers={"Content-Type": "application/json"})
    body = check_answer(status, payload, f"POST {route} {raw[:300]!r}")
    fuzz_server.examples += 1
    if route == "/prompt" and status == 200:
        assert isinstance(body.get("prompt_id"), str)
        fuzz_server.accepted.add(body["prompt_id"])


def test_after_the_fuzz_the_server_answers_and_nothing_accepted_is_lost(fuzz_server):
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status, queue = fuzz_server.json("GET", "/queue")
        assert status == 200
        if not queue["queue_running"] and not queue["queue_pending"]:
            break
        time.sleep(0.05)
    _, queue = fuzz_server.json("GET", "/queue")
    status, history = fuzz_server.json("GET", "/history?max_items=100000")
    assert status == 200
    queued = {item[1] for item in queue["queue_running"] + queue["queue_pending"]}
    assert fuzz_server.accepted == queued | set(history)
    assert len(fuzz_server.accepted) == len(queued) + len(history)
    # Validation refuses what the nodes cannot take: a prompt that was accepted and then failed must
    # have failed with a node's own clear error (a ValueError naming it), never a crash in the engine.
    crashes = [failure for entry in history.values() if (failure := run_failure(entry)) is not None]
    assert not crashes, crashes[:5]
    if fuzz_server.examples >= 100:  # the fuzz ran in this session: some of its prompts were good
        assert fuzz_server.accepted
    # One more ordinary prompt still runs to the end.
    good = {"1": {"class_type": "IntMath", "inputs": {"a": 2, "b": 3, "operation": "add"}},
            "2": {"class_type": "PreviewAny", "inputs": {"source": ["1", 0]}}}
    entry = fuzz_server.wait_done(fuzz_server.queue_prompt(good)["prompt_id"])
    assert entry["status"]["status_str"] == "success"


def test_run_failure_tells_an_engine_crash_from_a_node_error():
    def entry(status, exception_type):
        error = ["execution_error", {"exception_type": exception_type, "exception_message": "x"}]
        return {"status": {"status_str": status, "messages": [error]}, "prompt": [0, "id", {"1": {}}, {}, []]}

    assert run_failure({"status": {"status_str": "success", "messages": []}}) is None
    assert run_failure(entry("error", "ValueError")) is None
    assert run_failure(entry("error", "TypeError"))["error"][0]["exception_type"] == "TypeError"
