"""progress_state events: derived from the executor's events (unit), and through a real server
over the real engine: order and content for a multi-node prompt with a progress-reporting
node, cached nodes, a failing node, a lazy node waiting for its input, and no client_id."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from real_engine_harness import real_server, run_and_collect
from server_harness import collect_ws, done_for, simple_prompt

import server.worker as worker_module
from nodes.api.declare import Boolean, Node, Out, Socket
from server.progress_state import MAX_FINISHED_LISTED, ProgressStateTracker, depends_on, lazy_node_ids

FIELDS = {"value", "max", "state", "node_id", "prompt_id", "display_node_id", "parent_node_id", "real_node_id"}


class LazyPick(Node):
    """Asks only for the input it will return (a node with lazy inputs)."""

    node_id = "TestLazyPick"
    inputs = [Boolean("use_b", default=True), Socket("*", "a", lazy=True, optional=True),
              Socket("*", "b", lazy=True, optional=True)]
    outputs = [Out("*")]

    @classmethod
    def check_lazy_status(cls, ctx: Any, *, use_b: bool, a: Any = None, b: Any = None) -> list[str]:
        return ["b"] if use_b else ["a"]

    @classmethod
    def run(cls, ctx: Any, *, use_b: bool, a: Any = None, b: Any = None) -> tuple:
        return (b if use_b else a,)


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    server = real_server(tmp_path_factory.mktemp("progress"), extra_nodes=[LazyPick])
    yield server
    server.stop()


def steps(messages: list) -> list[tuple]:
    """The execution messages as compact tuples; progress_state as {node: (state, value, max)}."""
    out = []
    for m in messages:
        if not isinstance(m, dict) or m["type"] in ("status", "execution_start"):
            continue
        data = m["data"]
        if m["type"] == "progress_state":
            out.append(("ps", {n: (e["state"], e["value"], e["max"]) for n, e in data["nodes"].items()}))
        elif m["type"] in ("executing", "executed"):
            out.append((m["type"], data["node"]))
        elif m["type"] == "progress":
            out.append(("progress", data["node"], data["value"], data["max"]))
        elif m["type"] == "execution_cached":
            out.append(("cached", sorted(data["nodes"])))
        elif m["type"] == "execution_error":
            out.append(("error", data["node_id"]))
        else:
            out.append((m["type"],))
    return out


def count_prompt(steps: int, b: int = 2, op: str = "add") -> dict:
    """CountTo -> IntMath -> PreviewAny; each test uses its own `steps` so the shared server's
    cache only holds what the test itself ran."""
    return {"1": {"class_type": "CountTo", "inputs": {"steps": steps, "seconds_per_step": 0.0}},
            "3": {"class_type": "IntMath", "inputs": {"a": ["1", 0], "b": b, "operation": op}},
            "2": {"class_type": "PreviewAny", "inputs": {"source": ["3", 0]}}}


def test_order_and_content_for_a_multi_node_prompt(real):
    prompt_id, messages = run_and_collect(real, count_prompt(3, b=2), uuid.uuid4().hex)
    R, F = "running", "finished"
    assert steps(messages) == [
        ("cached", []),
        ("ps", {"1": (R, 0, 1)}), ("executing", "1"),
        ("ps", {"1": (R, 1, 3)}), ("progress", "1", 1, 3),
        ("ps", {"1": (R, 2, 3)}), ("progress", "1", 2, 3),
        ("ps", {"1": (R, 3, 3)}), ("progress", "1", 3, 3),
        ("ps", {"1": (F, 3, 3)}),
        ("ps", {"1": (F, 3, 3), "3": (R, 0, 1)}), ("executing", "3"),
        ("ps", {"1": (F, 3, 3), "3": (F, 1, 1)}),
        ("ps", {"1": (F, 3, 3), "3": (F, 1, 1), "2": (R, 0, 1)}), ("executing", "2"), ("executed", "2"),
        ("ps", {"1": (F, 3, 3), "3": (F, 1, 1), "2": (F, 1, 1)}),
        ("execution_success",), ("executing", None)]
    for m in messages:
        if isinstance(m, dict) and m["type"] == "progress_state":
            assert m["data"]["prompt_id"] == prompt_id
            for node, entry in m["data"]["nodes"].items():
                assert set(entry) == FIELDS
                assert entry["node_id"] == entry["display_node_id"] == entry["real_node_id"] == node
                assert entry["prompt_id"] == prompt_id and entry["parent_node_id"] is None


def test_cached_nodes_are_reported_finished_after_execution_cached(real):
    run_and_collect(real, count_prompt(4, b=4), uuid.uuid4().hex)
    _, messages = run_and_collect(real, count_prompt(4, b=5), uuid.uuid4().hex)
    got = steps(messages)
    assert got[:4] == [("cached", ["1"]), ("ps", {"1": ("finished", 1, 1)}),
                       ("ps", {"1": ("finished", 1, 1), "3": ("running", 0, 1)}), ("executing", "3")]
    assert not any(s[0] == "progress" for s in got)  # CountTo did not run again

    _, messages = run_and_collect(real, count_prompt(4, b=5), uuid.uuid4().hex)
    assert steps(messages) == [
        ("cached", ["1", "2", "3"]), ("ps", {n: ("finished", 1, 1) for n in ("1", "3", "2")}),
        ("executed", "2"), ("execution_success",), ("executing", None)]


def test_failing_node_is_reported_with_state_error(real):
    _, messages = run_and_collect(real, count_prompt(5, b=0, op="divide"), uuid.uuid4().hex)
    got = steps(messages)
    error_at = got.index(("error", "3"))
    assert got[error_at - 1] == ("ps", {"1": ("finished", 5, 5), "3": ("error", 0, 1)})
    assert ("execution_success",) not in got and got[-1] == ("executing", None)


def test_lazy_node_stays_running_while_its_input_runs(real):
    prompt = {"1": {"class_type": "IntMath", "inputs": {"a": 1, "b": 1, "operation": "add"}},
              "2": {"class_type": "IntMath", "inputs": {"a": 40, "b": 2, "operation": "add"}},
              "3": {"class_type": "TestLazyPick", "inputs": {"use_b": True, "a": ["1", 0], "b": ["2", 0]}},
              "4": {"class_type": "PreviewAny", "inputs": {"source": ["3", 0]}}}
    _, messages = run_and_collect(real, prompt, uuid.uuid4().hex)
    R, F = "running", "finished"
    assert steps(messages) == [
        ("cached", []),
        ("ps", {"3": (R, 0, 1)}), ("executing", "3"),
        ("ps", {"3": (R, 0, 1), "2": (R, 0, 1)}), ("executing", "2"),
        ("ps", {"3": (R, 0, 1), "2": (F, 1, 1)}),
        ("ps", {"2": (F, 1, 1), "3": (R, 0, 1)}), ("executing", "3"),
        ("ps", {"2": (F, 1, 1), "3": (F, 1, 1)}),
        ("ps", {"2": (F, 1, 1), "3": (F, 1, 1), "4": (R, 0, 1)}), ("executing", "4"), ("executed", "4"),
        ("ps", {"2": (F, 1, 1), "3": (F, 1, 1), "4": (F, 1, 1)}),
        ("execution_success",), ("executing", None)]


def test_without_client_id_progress_state_is_broadcast_and_executing_is_not(real):
    prompt = count_prompt(2, b=11)
    _, messages = run_and_collect(real, prompt, uuid.uuid4().hex, queue_client_id=None)
    kinds = {m["type"] for m in messages if isinstance(m, dict)}
    assert {"progress_state", "progress"} <= kinds and not kinds & {"executing", "executed", "execution_start"}
    last = [m for m in messages if isinstance(m, dict) and m["type"] == "progress_state"][-1]
    assert {n: e["state"] for n, e in last["data"]["nodes"].items()} == {"1": "finished", "3": "finished",
                                                                         "2": "finished"}


def test_another_clients_prompt_sends_this_socket_nothing(real):
    _, messages = run_and_collect(real, count_prompt(6, b=12), uuid.uuid4().hex, queue_client_id="someone-else")
    assert "progress_state" not in {m["type"] for m in messages if isinstance(m, dict)}


# ---------------------------------------------------------------------------------------- unit level
def _states(events) -> list[dict]:
    return [{n: e["state"] for n, e in data["nodes"].items()} for name, data in events if name == "progress_state"]


def test_tracker_passes_every_event_through_in_place():
    tracker = ProgressStateTracker("p")
    for event, data in [("execution_start", {"prompt_id": "p"}), ("execution_cached", {"nodes": []}),
                        ("preview", {"node_id": "1"}), ("progress_text", {"node_id": "1", "text": "x"}),
                        ("execution_interrupted", {"node_id": "1"}), ("executing", {"node": None})]:
        assert tracker.translate(event, data) == [(event, data)]


@pytest.mark.parametrize("event,data", [
    ("executing", {"node": 5}), ("progress", {"node": None, "value": 1, "max": 2}), ("executed", {}),
    ("execution_error", {"node_id": None}), ("execution_cached", {"nodes": None}),
    ("execution_cached", {"nodes": [1, None]})])
def test_tracker_ignores_malformed_node_ids(event, data):
    tracker = ProgressStateTracker("p")
    assert tracker.translate(event, data) == [(event, data)] and tracker.nodes == {}


def test_tracker_progress_with_odd_numbers_keeps_defaults():
    tracker = ProgressStateTracker("p")
    tracker.translate("executing", {"node": "1"})
    out = tracker.translate("progress", {"node": "1", "value": "x", "max": True})
    assert out[0][1]["nodes"]["1"]["value"] == 0 and out[0][1]["nodes"]["1"]["max"] == 1


def test_tracker_error_after_other_nodes_and_success_finishes_running_nodes():
    tracker = ProgressStateTracker("p")
    tracker.translate("executing", {"node": "a"})
    out = tracker.translate("execution_success", {"prompt_id": "p"})
    assert _states(out) == [{"a": "finished"}] and out[-1][0] == "execution_success"
    tracker = ProgressStateTracker("p")
    out = tracker.translate("execution_error", {"node_id": "x"})
    assert _states(out) == [{"x": "error"}] and out[-1][0] == "execution_error"


def test_tracker_lists_at_most_the_last_finished_nodes_but_all_running():
    tracker = ProgressStateTracker("p")
    total = MAX_FINISHED_LISTED + 50
    for index in range(total):
        out = tracker.translate("executing", {"node": str(index)})
    listed = out[-2][1]["nodes"]
    assert len(listed) == MAX_FINISHED_LISTED + 1 and listed[str(total - 1)]["state"] == "running"
    assert str(total - 2) in listed and "0" not in listed


def test_depends_on_and_lazy_node_ids():
    prompt = {"1": {"inputs": {}}, "2": {"inputs": {"x": ["1", 0]}}, "3": {"inputs": {"y": ["2", 0], "z": 4}},
              "4": {"inputs": {"w": ["4", 0]}}, "5": "not a node"}
    assert depends_on(prompt, "3", "1") and not depends_on(prompt, "1", "3") and not depends_on(prompt, "4", "1")
    assert not depends_on(prompt, "5", "1") and not depends_on(prompt, "missing", "1")

    class Spec:
        def __init__(self, lazy):
            self.lazy = lazy

    class Schema:
        def __init__(self, lazy):
            self.inputs = [Spec(False), Spec(lazy)]

    def schema_of(class_type):
        if class_type == "Unknown":
            raise KeyError(class_type)
        return Schema(class_type == "Lazy")

    typed = {"1": {"class_type": "Lazy"}, "2": {"class_type": "Plain"}, "3": {"class_type": "Unknown"},
             "4": {"class_type": 7}, "5": []}
    assert lazy_node_ids(typed, schema_of) == {"1"}
    assert lazy_node_ids(typed, None) == set()


def test_a_failing_tracker_never_loses_the_executor_events(live, monkeypatch):
    def broken(self, event, data):
        raise RuntimeError("tracker bug")

    monkeypatch.setattr(worker_module.ProgressStateTracker, "translate", broken)
    cid = uuid.uuid4().hex
    accepted = {}

    async def submit():
        accepted.update(await asyncio.get_running_loop().run_in_executor(
            None, lambda: live.queue_prompt(simple_prompt(3), client_id=cid)))

    messages = asyncio.run(collect_ws(live.url, cid, lambda m: accepted and done_for(accepted["prompt_id"])(m),
                                      on_open=submit))
    kinds = [m["type"] for m in messages if m["type"] != "status"]
    assert "progress_state" not in kinds and kinds[0] == "execution_start" and "execution_success" in kinds
    assert live.wait_done(accepted["prompt_id"])["status"]["status_str"] == "success"
