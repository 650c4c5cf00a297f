"""Bad POST /prompt bodies (matrix B1, B2, B3, B12-B15): clear 4xx JSON, never 500, server stays up."""

from __future__ import annotations

import json

import pytest
from server_harness import simple_prompt

from server.config import ServerConfig


def post_raw(live, raw: bytes, content_type="application/json"):
    status, _, body = live.request("POST", "/prompt", raw=raw, headers={"Content-Type": content_type})
    return status, json.loads(body)


@pytest.mark.parametrize("raw", [b"{not json", b"", b"   ", b"\xff\xfe", b"[" * 100_000, b"[" * 10_000_000])
def test_b1_unparseable_or_deep_bodies_are_invalid_json(live, raw):
    status, body = post_raw(live, raw)
    assert status == 400
    assert body["error"]["type"] == "invalid_json" and body["node_errors"] == {}


def test_b1_depth_limit_applies_to_valid_json(live):
    deep = "[" * 200 + "]" * 200
    status, body = post_raw(live, f'{{"prompt": {{}}, "extra_data": {{"x": {deep}}}}}'.encode())
    assert status == 400 and body["error"]["type"] == "invalid_json" and "nested" in body["error"]["message"]


@pytest.mark.parametrize("top", [[], "str", 123, None, {"no": "prompt"}])
def test_b2_not_an_object_with_prompt(live, top):
    status, body = live.json("POST", "/prompt", top if top is not None else None,
                             **({"raw": b"null", "headers": {"Content-Type": "application/json"}} if top is None else {}))
    assert status == 400 and body["error"]["type"] == "no_prompt"


@pytest.mark.parametrize("prompt", ["abc", [], 5, {"1": 5}, {"1": "class_type"}, {"1": {"class_type": 7}}])
def test_b3_b4_malformed_prompts(live, prompt):
    status, body = live.json("POST", "/prompt", {"prompt": prompt})
    assert status == 400 and body["error"]["type"] == "invalid_prompt"


def test_b5_no_output_node(live):
    status, body = live.json("POST", "/prompt", {"prompt": {"1": {"class_type": "Const", "inputs": {"value": 1}}}})
    assert status == 400 and body["error"]["type"] == "prompt_no_outputs"


@pytest.mark.parametrize("field,value", [("number", "abc"), ("number", True), ("number", None), ("front", "yes"),
                                         ("front", 1), ("extra_data", []), ("extra_data", "x"), ("client_id", {}),
                                         ("client_id", 5),
                                         ("partial_execution_targets", "2"), ("partial_execution_targets", [2])])
def test_b13_wrongly_typed_fields_name_the_field(live, field, value):
    status, body = live.json("POST", "/prompt", {"prompt": simple_prompt(), field: value})
    assert status == 400 and body["error"]["type"] == "invalid_request"
    assert body["error"]["extra_info"]["field"] == field
    assert live.json("GET", "/queue")[1]["queue_pending"] == []


@pytest.mark.parametrize("value", [5, "", "x" * 300, "my-id", "6F1C2A4E-0B7D-4C1E-9A3F-2D5E8B9C0A11",
                                   "{6f1c2a4e-0b7d-4c1e-9a3f-2d5e8b9c0a11}", "6f1c2a4e0b7d4c1e9a3f2d5e8b9c0a11"])
def test_a_client_prompt_id_must_be_a_canonical_uuid(live, value):
    status, body = live.json("POST", "/prompt", {"prompt": simple_prompt(), "prompt_id": value})
    assert status == 400 and body["error"]["type"] == "invalid_prompt_id" and body["node_errors"] == {}
    assert "UUID" in body["error"]["message"] and body["error"]["extra_info"]["field"] == "prompt_id"
    assert live.json("GET", "/queue")[1]["queue_pending"] == []


def test_missing_node_types_are_reported_as_comfyui_does(live):
    prompt = {**simple_prompt(), "7": {"class_type": "FancyCustomSampler", "inputs": {}, "_meta": {"title": "Fancy"}},
              "8": {"class_type": "OtherMissing", "inputs": {}}}
    for path in ("/prompt", "/plan"):
        status, body = live.json("POST", path, {"prompt": prompt})
        assert status == 400 and body["node_errors"] == {}
        err = body["error"]
        assert err["type"] == "missing_node_type" and err["details"] == "Node ID '#7'"
        assert err["message"] == "Node 'Fancy' not found. The custom node may not be installed."
        assert {k: err["extra_info"][k] for k in ("node_id", "class_type", "node_title")} == \
            {"node_id": "7", "class_type": "FancyCustomSampler", "node_title": "Fancy"}
        assert [m["class_type"] for m in err["extra_info"]["missing_nodes"]] == ["FancyCustomSampler", "OtherMissing"]
        assert err["extra_info"]["missing_nodes"][1]["node_title"] == "OtherMissing"  # no title: the class type

    status, body = live.json("POST", "/prompt", {"prompt": {"1": {"inputs": {}, "_meta": {"title": "Lost"}}}})
    assert status == 400 and body["error"]["type"] == "missing_node_type"
    assert body["error"]["message"].startswith("Node 'Lost' has no class_type.")
    assert body["error"]["extra_info"]["class_type"] is None
    status, body = live.json("POST", "/prompt", {"prompt": {"1": {"inputs": {}}}})
    assert body["error"]["message"].startswith("Node 'ID #1' has no class_type.")
    assert live.json("GET", "/queue")[1]["queue_pending"] == []


def test_number_nan_and_infinity_are_refused(live):
    for raw in (b'{"prompt": {}, "number": NaN}', b'{"prompt": {}, "number": -Infinity}'):
        status, body = post_raw(live, raw)
        assert status == 400 and body["error"]["type"] == "invalid_json" and "not valid JSON" in body["error"]["details"]
    status, body = post_raw(live, b'{"prompt": {"1": {}}, "number": 1e999}')
    assert status == 400 and body["error"]["extra_info"]["field"] == "number"


def test_b14_one_invalid_output_still_runs_the_valid_one(live):
    prompt = simple_prompt(5)
    prompt["3"] = {"class_type": "Show", "inputs": {"value": ["99", 0]}}
    status, body = live.json("POST", "/prompt", {"prompt": prompt})
    assert status == 200 and list(body["node_errors"]) == ["3"]
    entry = live.wait_done(body["prompt_id"])
    assert entry["outputs"] == {"2": {"value": [5]}}


def test_b15_duplicate_prompt_id_is_409(live):
    my_id = "6f1c2a4e-0b7d-4c1e-9a3f-2d5e8b9c0a11"
    first = live.queue_prompt(simple_prompt(), prompt_id=my_id)
    assert first["prompt_id"] == my_id
    status, body = live.json("POST", "/prompt", {"prompt": simple_prompt(2), "prompt_id": my_id})
    assert status == 409 and body["error"]["type"] == "duplicate_prompt_id"
    live.wait_done(my_id)
    status, _ = live.json("POST", "/prompt", {"prompt": simple_prompt(2), "prompt_id": my_id})
    assert status == 409
    # The identical body is a retry (tests/server/test_server_idempotent_prompt.py): the first answer.
    assert live.json("POST", "/prompt", {"prompt": simple_prompt(), "prompt_id": my_id}) == (200, first)


def test_b12_too_many_nodes_or_bytes_is_413(make_live, tmp_path):
    live = make_live(config=ServerConfig(max_prompt_nodes=100, max_prompt_bytes=200_000))
    many = {str(i): {"class_type": "Const", "inputs": {"value": i}} for i in range(101)}
    status, body = live.json("POST", "/prompt", {"prompt": many})
    assert status == 413 and body["error"]["type"] == "prompt_too_large"
    big = {"prompt": simple_prompt(), "extra_data": {"blob": "x" * 300_000}}
    status, body = live.json("POST", "/prompt", big)
    assert status == 413 and body["error"]["type"] == "request_too_large"
    assert live.json("POST", "/prompt", {"prompt": simple_prompt()})[0] == 200


def test_queue_size_cap_is_a_clear_429(make_live):
    live = make_live(config=ServerConfig(max_queue_size=2))
    live.state.worker.stop()  # nothing runs: the queue fills up
    live.queue_prompt(simple_prompt(1))
    live.queue_prompt(simple_prompt(2))
    status, body = live.json("POST", "/prompt", {"prompt": simple_prompt(3)})
    assert status == 429 and body["error"]["type"] == "queue_full" and "full" in body["error"]["message"]


def test_front_and_number_fields_order_the_queue(make_live):
    live = make_live()
    live.state.worker.stop()
    a = live.queue_prompt(simple_prompt(1))
    b = live.queue_prompt(simple_prompt(2), front=True)
    c = live.queue_prompt(simple_prompt(3), number=-100)
    assert (a["number"], c["number"]) == (0, -100) and b["number"] == -1
    _, queue = live.json("GET", "/queue")
    assert [item[1] for item in queue["queue_pending"]] == [c["prompt_id"], b["prompt_id"], a["prompt_id"]]


def test_extra_data_is_kept_and_sensitive_keys_are_not_shown(live):
    live.state.worker.stop()
    accepted = live.queue_prompt(simple_prompt(), client_id="c1",
                                 extra_data={"extra_pnginfo": {"workflow": {"nodes": []}}, "api_key_comfy_org": "k"})
    _, queue = live.json("GET", "/queue")
    item = queue["queue_pending"][0]
    assert item[1] == accepted["prompt_id"] and item[4] == ["2"]
    assert item[3]["client_id"] == "c1" and item[3]["extra_pnginfo"] == {"workflow": {"nodes": []}}
    assert "api_key_comfy_org" not in json.dumps(queue) and "create_time" in item[3]


def test_queue_clear_and_delete(live):
    live.state.worker.stop()
    ids = [live.queue_prompt(simple_prompt(i))["prompt_id"] for i in range(3)]
    assert live.json("POST", "/queue", {"delete": [ids[1]]})[0] == 200
    assert [i[1] for i in live.json("GET", "/queue")[1]["queue_pending"]] == [ids[0], ids[2]]
    assert live.json("POST", "/queue", {"delete": [1, 2]})[0] == 400
    assert live.json("POST", "/queue", ["clear"])[0] == 400
    assert live.json("POST", "/queue", {"clear": True})[0] == 200
    assert live.json("GET", "/prompt")[1] == {"exec_info": {"queue_remaining": 0}}


def test_store_write_failure_means_not_accepted(live, monkeypatch):
    import sqlite3

    def full(*a, **k):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(live.state.store, "add", full)
    status, body = live.json("POST", "/prompt", {"prompt": simple_prompt()})
    assert status == 503 and body["error"]["type"] == "queue_write_failed"
    monkeypatch.undo()
    assert live.json("POST", "/prompt", {"prompt": simple_prompt()})[0] == 200
