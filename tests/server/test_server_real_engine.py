"""The server over the real engine (graph.validate, graph.executor, nodes.library.utility.basics): the flow
and the validation rows of the matrix (B4-B11) through POST /prompt."""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import pytest
from server_harness import LiveServer, collect_ws, done_for

import graph.executor as executor_module
import graph.validate as validate
import nodes.api.runtime as runtime_module
import nodes.build as registry_module


@pytest.fixture
def real(tmp_path):
    runtime = runtime_module.NodeRuntime.for_directory(tmp_path)
    runtime.folders.ensure_dirs()
    registry, _ = registry_module.build_registry(runtime, [])
    server = LiveServer(tmp_path, registry=registry, runtime=runtime,
                        executor=executor_module.Executor(registry, runtime=runtime),
                        validator=validate.validate_prompt)
    yield server
    server.stop()


def math_prompt(a=2, b=3, op="add"):
    return {"1": {"class_type": "IntMath", "inputs": {"a": a, "b": b, "operation": op}},
            "2": {"class_type": "PreviewAny", "inputs": {"source": ["1", 0]}}}


def test_real_nodes_flow_events_history_and_view(real):
    cid = uuid.uuid4().hex
    prompt = {"1": {"class_type": "PrimitiveString", "inputs": {"value": "hello"}},
              "2": {"class_type": "SaveText", "inputs": {"text": ["1", 0], "filename_prefix": "notes/run"}}}
    accepted = {}

    async def submit():
        accepted.update(await asyncio.get_running_loop().run_in_executor(
            None, lambda: real.queue_prompt(prompt, client_id=cid)))

    messages = asyncio.run(collect_ws(real.url, cid, lambda m: accepted and done_for(accepted["prompt_id"])(m),
                                      on_open=submit))
    types = [m["type"] for m in messages if m["type"] != "status"]
    assert types[:2] == ["execution_start", "execution_cached"] and types[-2:] == ["execution_success", "executing"]
    entry = real.wait_done(accepted["prompt_id"])
    saved = entry["outputs"]["2"]["files"][0]
    status, headers, body = real.request(
        "GET", f"/view?filename={saved['filename']}&subfolder={saved['subfolder']}&type=output")
    assert status == 200 and body == b"hello"
    assert real.json("GET", "/object_info/IntMath")[1]["IntMath"]["input"]["required"]["a"][0] == "INT"


def test_real_interrupt_stops_count_to_and_next_runs(real):
    prompt = {"1": {"class_type": "CountTo", "inputs": {"steps": 1000, "seconds_per_step": 0.02}},
              "2": {"class_type": "PreviewAny", "inputs": {"source": ["1", 0]}}}
    pid = real.queue_prompt(prompt)["prompt_id"]
    real.wait_running()
    time.sleep(0.1)
    real.json("POST", "/interrupt", {"prompt_id": pid})
    entry = real.wait_done(pid, timeout=5)
    assert "execution_interrupted" in dict(entry["status"]["messages"])
    ok = real.queue_prompt(math_prompt(5, 6))["prompt_id"]
    assert real.wait_done(ok)["outputs"]["2"]["text"] == ["11"]


def test_real_node_error_is_reported_with_node_id(real):
    pid = real.queue_prompt(math_prompt(1, 0, "divide"))["prompt_id"]
    entry = real.wait_done(pid)
    error = dict(entry["status"]["messages"])["execution_error"]
    assert error["node_id"] == "1" and "division by zero" in error["exception_message"]


BAD_PROMPTS = {
    "B4 no class_type": ({"1": {"inputs": {}}}, "missing_node_type", None),
    "B4 unknown class": ({"1": {"class_type": "Nope", "inputs": {}}}, "missing_node_type", None),
    "B4 class not a string": ({"1": {"class_type": 5, "inputs": {}}}, "invalid_prompt", None),
    "B5 no output": ({"1": {"class_type": "IntMath", "inputs": {"a": 1, "b": 2, "operation": "add"}}},
                     "prompt_no_outputs", None),
    "B6 required missing": ({"2": {"class_type": "PreviewAny", "inputs": {}},
                             "3": {"class_type": "SaveText", "inputs": {"filename_prefix": "x"}}}, None, "3"),
    "B7 link to missing node": ({"2": {"class_type": "SaveText", "inputs": {"text": ["9", 0], "filename_prefix": "x"}}},
                                None, "2"),
    "B7 short link": ({"1": {"class_type": "PrimitiveString", "inputs": {"value": "a"}},
                       "2": {"class_type": "SaveText", "inputs": {"text": ["1"], "filename_prefix": "x"}}}, None, "2"),
    "B7 slot out of range": ({"1": {"class_type": "PrimitiveString", "inputs": {"value": "a"}},
                              "2": {"class_type": "SaveText", "inputs": {"text": ["1", 99], "filename_prefix": "x"}}},
                             None, "2"),
    "B8 type mismatch": ({"1": {"class_type": "PrimitiveInt", "inputs": {"value": 1}},
                          "2": {"class_type": "SaveText", "inputs": {"text": ["1", 0], "filename_prefix": "x"}}},
                         None, "2"),
    "B9 INT abc": (math_prompt("abc"), None, "1"),
    "B10 combo not in list": (math_prompt(1, 2, "../../etc/passwd"), None, "1"),
    "B11 cycle": ({"1": {"class_type": "IntMath", "inputs": {"a": ["2", 0], "b": 1, "operation": "add"}},
                   "2": {"class_type": "IntMath", "inputs": {"a": ["1", 0], "b": 1, "operation": "add"}},
                   "3": {"class_type": "PreviewAny", "inputs": {"source": ["2", 0]}}}, None, None),
}


@pytest.mark.parametrize("name", sorted(BAD_PROMPTS))
def test_real_validation_rows_are_clean_400s(real, name):
    prompt, error_type, node = BAD_PROMPTS[name]
    status, body = real.json("POST", "/prompt", {"prompt": prompt})
    assert status == 400, body
    assert set(body) == {"error", "node_errors"} and isinstance(body["error"]["message"], str)
    if error_type:
        assert body["error"]["type"] == error_type
    if node:
        assert node in body["node_errors"] and body["node_errors"][node]["errors"]
    assert real.json("GET", "/queue")[1]["queue_pending"] == []


@pytest.mark.parametrize("raw_value", ["1e309", "NaN", "Infinity", "18446744073709551616", "true", "-0", '"inf"'])
def test_real_b9_odd_numbers_never_500(real, raw_value):
    template = ('{"prompt": {"1": {"class_type": "IntMath", "inputs": {"a": VALUE, "b": 1, "operation": "add"}}, '
                '"2": {"class_type": "PreviewAny", "inputs": {"source": ["1", 0]}}}}')
    raw = template.replace("VALUE", raw_value).encode()
    status, _, body = real.request("POST", "/prompt", raw=raw, headers={"Content-Type": "application/json"})
    assert status in (200, 400), body
    assert "error" in json.loads(body) or "prompt_id" in json.loads(body)


def test_real_plan_route(real):
    prompt = math_prompt(7, 8)
    assert real.json("POST", "/api/plan", {"prompt": prompt})[1] == {"run": ["1", "2"], "cached": []}
    real.wait_done(real.queue_prompt(prompt)["prompt_id"])
    assert real.json("POST", "/api/plan", {"prompt": prompt})[1]["cached"] == ["1", "2"]


def test_real_b6_unknown_extra_input_is_ignored(real):
    prompt = math_prompt(2, 2)
    prompt["1"]["inputs"]["not_an_input"] = 5
    status, body = real.json("POST", "/prompt", {"prompt": prompt})
    assert status == 200, body
    assert real.wait_done(body["prompt_id"])["outputs"]["2"]["text"] == ["4"]
