"""POST /prompt fields out of range (issue 20, items 3 and 7): a 400 naming the field, never a 500."""

from __future__ import annotations

import asyncio

import pytest
from server_harness import collect_ws, done_for, simple_prompt

from server.store import Store
from server.ws import Hub


def post(live, **fields):
    return live.json("POST", "/prompt", {"prompt": simple_prompt(), **fields})


@pytest.mark.parametrize("number", [2**64, 18446744073709551616, 2**63, -(2**53) - 1, 2**53 + 1, 2**1000,
                                    -(2**1000), 1e300, 1e16])
def test_a_number_sqlite_cannot_store_is_a_400(live, number):
    status, body = post(live, number=number)
    assert status == 400, body
    assert body["error"]["type"] == "invalid_request" and body["error"]["extra_info"]["field"] == "number"
    assert "queue position" in body["error"]["message"] and len(body["error"]["message"]) < 300
    assert live.json("GET", "/queue")[1]["queue_pending"] == []
    assert live.json("POST", "/prompt", {"prompt": simple_prompt()})[0] == 200


def test_the_largest_storable_numbers_are_accepted_and_survive_a_restart(make_live, tmp_path):
    live = make_live(root=tmp_path)
    live.state.worker.stop()
    big = post(live, number=2**53)[1]
    small = post(live, number=-(2**53))[1]
    middle = post(live, number=2**53 - 1)[1]
    assert big["number"] == 2**53 and small["number"] == -(2**53) and middle["number"] == 2**53 - 1
    expected = [[small["prompt_id"], -(2**53)], [middle["prompt_id"], 2**53 - 1], [big["prompt_id"], 2**53]]
    pending = live.json("GET", "/queue")[1]["queue_pending"]
    assert [[item[1], item[0]] for item in pending] == expected
    live.stop()
    store = Store.open(tmp_path / "queue.db", synchronous="NORMAL")  # what a restarted server reads
    try:
        assert [item.as_list()[1::-1] for item in store.queue()[1]] == expected
    finally:
        store.close()


@pytest.mark.parametrize("front", ["yes", 1, 0, None, [], {}, 2**64])
def test_front_of_a_wrong_type_is_a_400(live, front):
    status, body = post(live, front=front)
    assert status == 400 and body["error"]["extra_info"]["field"] == "front"
    assert live.json("GET", "/queue")[1]["queue_pending"] == []


def test_plan_checks_the_same_ranges(live):
    status, body = live.json("POST", "/plan", {"prompt": simple_prompt(), "number": 2**64})
    assert status == 400 and body["error"]["extra_info"]["field"] == "number"


@pytest.mark.parametrize("client_id", [{}, [], 5, True, {"a": 1}])
def test_extra_data_client_id_of_a_wrong_type_is_a_400(live, client_id):
    status, body = post(live, extra_data={"client_id": client_id})
    assert status == 400, body
    assert body["error"]["type"] == "invalid_request" and body["error"]["extra_info"]["field"] == "extra_data.client_id"
    assert live.json("GET", "/queue")[1]["queue_pending"] == []


def test_extra_data_client_id_string_or_null_is_accepted(live):
    assert post(live, extra_data={"client_id": None})[0] == 200
    status, body = post(live, extra_data={"client_id": "c7"})
    assert status == 200
    assert live.wait_done(body["prompt_id"])["prompt"][3]["client_id"] == "c7"


def on_loop(live, callback):
    """Run `callback()` on the server's event loop (where the hub lives) and return its result."""
    async def call():
        return callback()
    return asyncio.run_coroutine_threadsafe(call(), live.loop).result(10)


def test_hub_survives_a_bad_client_id_and_keeps_sending(live):
    """A prompt queued before the check (an old database) still has its events delivered."""
    hub: Hub = live.state.hub
    calls = []
    hub_send = hub.send

    def spy(event, data, sid):
        calls.append((event, sid))
        hub_send(event, data, sid)

    hub.send = spy
    try:
        on_loop(live, lambda: hub.dispatch("progress", {"value": 1, "max": 2, "prompt_id": "p", "node": "1"},
                                           {"bad": "id"}))
        on_loop(live, lambda: hub.dispatch("execution_start", {"prompt_id": "p"}, ["x"]))
    finally:
        hub.send = hub_send
    assert calls == [("progress", None)]  # as a prompt without a client: broadcast events still go out

    async def run():
        ids: list = []

        async def queue():
            hub.event("executing", {"node": "1", "prompt_id": "p"}, {"bad": "id"})
            accepted = await asyncio.get_running_loop().run_in_executor(
                None, lambda: live.queue_prompt(simple_prompt(), client_id="good"))
            ids.append(accepted["prompt_id"])

        messages = await collect_ws(live.url, "good", lambda m: bool(ids) and done_for(ids[0])(m),
                                    on_open=queue)
        return messages, ids[0]

    messages, pid = asyncio.run(run())
    assert any(isinstance(m, dict) and m["type"] == "executed" and m["data"]["prompt_id"] == pid for m in messages)
