"""The worker: failures stay inside one prompt (F4, F7), interrupts (F17), /free, ordering."""

from __future__ import annotations

import sqlite3
import time

from server_harness import simple_prompt, slow_prompt


def error_message(entry):
    return dict(entry["status"]["messages"])["execution_error"]


def test_f4_node_exceptions_end_the_prompt_and_the_next_one_runs(live):
    for failing in ("Fail", "Weird"):
        prompt = {"1": {"class_type": "Const", "inputs": {"value": 1}},
                  "2": {"class_type": failing, "inputs": {"value": ["1", 0]}},
                  "3": {"class_type": "Show", "inputs": {"value": ["2", 0]}}}
        pid = live.queue_prompt(prompt)["prompt_id"]
        entry = live.wait_done(pid)
        assert entry["status"]["status_str"] == "error" and entry["status"]["completed"] is False
        error = error_message(entry)
        assert error["prompt_id"] == pid
        if failing == "Fail":
            assert error["node_id"] == "2" and "on purpose" in error["exception_message"]
        else:  # a BaseException escaping the executor itself
            assert error["exception_type"] == "WeirdBaseException"
        ok = live.queue_prompt(simple_prompt(11))["prompt_id"]
        assert live.wait_done(ok)["outputs"] == {"2": {"value": [11]}}


def test_f7_disk_full_while_saving_an_output(live, tmp_path):
    prompt = {"1": {"class_type": "Const", "inputs": {"value": 1}},
              "2": {"class_type": "DiskFull", "inputs": {"value": ["1", 0]}}}
    entry = live.wait_done(live.queue_prompt(prompt)["prompt_id"])
    assert "No space left on device" in error_message(entry)["exception_message"]
    assert not (live.runtime.folders.output_dir / "partial.png").exists()
    assert live.wait_done(live.queue_prompt(simple_prompt(2))["prompt_id"])["status"]["status_str"] == "success"


def test_f7_disk_full_while_writing_history(live, monkeypatch):
    store = live.state.store
    real = store._write_terminal
    calls = []

    def full_once(prompt_id, status, result, now):
        calls.append(status)
        if len(calls) == 1:
            raise sqlite3.OperationalError("database or disk is full")
        return real(prompt_id, status, result, now)

    monkeypatch.setattr(store, "_write_terminal", full_once)
    pid = live.queue_prompt(simple_prompt(3))["prompt_id"]
    entry = live.wait_done(pid)
    assert entry["status"]["status_str"] == "error"
    assert "disk is full" in error_message(entry)["exception_message"]
    monkeypatch.undo()
    assert live.wait_done(live.queue_prompt(simple_prompt(4))["prompt_id"])["status"]["status_str"] == "success"


def test_f7_history_unwritable_even_for_the_error_stays_running_for_restart(live, monkeypatch):
    def always_full(*args):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(live.state.store, "_write_terminal", always_full)
    pid = live.queue_prompt(simple_prompt(5))["prompt_id"]
    deadline = time.monotonic() + 10
    while live.state.worker.prompts_done < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    monkeypatch.undo()
    assert live.state.store.status_of(pid) == "running"  # re-queued by the next start
    assert live.wait_done(live.queue_prompt(simple_prompt(6))["prompt_id"])["status"]["status_str"] == "success"


def test_f17_interrupt_stops_within_a_step_and_next_prompt_is_not_pre_interrupted(live):
    pid = live.queue_prompt(slow_prompt(steps=200, delay_ms=20))["prompt_id"]
    assert live.wait_running() == pid
    time.sleep(0.1)
    assert live.json("POST", "/interrupt", {"prompt_id": "someone-else"})[0] == 200  # wrong id: no-op
    time.sleep(0.1)
    assert live.state.worker.current_prompt_id == pid
    assert live.request("POST", "/interrupt")[0] == 200  # empty body: global
    entry = live.wait_done(pid, timeout=5)
    messages = dict(entry["status"]["messages"])
    assert "execution_interrupted" in messages and messages["execution_interrupted"]["node_id"] == "2"
    assert entry["status"]["status_str"] == "error"
    nxt = live.queue_prompt(slow_prompt(value=2, steps=3, delay_ms=1))["prompt_id"]
    assert live.wait_done(nxt)["status"]["status_str"] == "success"


def test_f17_interrupt_by_prompt_id_and_when_idle(live):
    assert live.json("POST", "/interrupt", {"prompt_id": "x"})[0] == 200
    assert live.request("POST", "/interrupt", raw=b"{garbage", headers={"Content-Type": "application/json"})[0] == 200
    pid = live.queue_prompt(slow_prompt(steps=200, delay_ms=20))["prompt_id"]
    live.wait_running(pid)
    assert live.json("POST", "/api/interrupt", {"prompt_id": pid})[0] == 200
    assert "execution_interrupted" in dict(live.wait_done(pid, timeout=5)["status"]["messages"])
    # An interrupt sent while idle does not hit the next prompt.
    assert live.json("POST", "/interrupt", {})[0] == 200
    ok = live.queue_prompt(slow_prompt(value=3, steps=2, delay_ms=1))["prompt_id"]
    assert live.wait_done(ok)["status"]["status_str"] == "success"


def test_free_is_handled_between_prompts(live):
    assert live.json("POST", "/free", {"unload_models": True})[0] == 200
    deadline = time.monotonic() + 5
    while live.runtime.unloads < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert live.runtime.unloads == 1 and live.executor.resets == 0
    assert live.json("POST", "/free", {"free_memory": True})[0] == 200
    while live.executor.resets < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert live.executor.resets == 1
    assert live.json("POST", "/free", [1])[0] == 400


def test_prompts_run_in_queue_order(make_live):
    live = make_live()
    live.state.worker.stop()
    order = []
    ids = [live.queue_prompt(simple_prompt(i))["prompt_id"] for i in range(3)]
    ids.append(live.queue_prompt(simple_prompt(9), front=True)["prompt_id"])
    from server.worker import Worker

    state = live.state
    real_execute = live.executor.execute

    def recording(prompt, **kw):
        order.append(kw["prompt_id"])
        return real_execute(prompt, **kw)

    live.executor.execute = recording
    state.worker = Worker(state.store, live.executor, registry=live.registry, publisher=state.hub)
    state.worker.start()
    for pid in ids:
        live.wait_done(pid)
    assert order == [ids[3], ids[0], ids[1], ids[2]]
    state.worker.stop()


def test_f3_failures_outside_nodes_never_stop_the_worker(live, monkeypatch):
    store = live.state.store
    real_pop = store.pop_next
    calls = {"n": 0}

    def flaky_pop(timeout=None):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("store hiccup")
        return real_pop(timeout)

    monkeypatch.setattr(store, "pop_next", flaky_pop)
    real_execute = live.executor.execute

    def broken_execute(prompt, **kw):
        raise RuntimeError("cache exploded outside any node")

    monkeypatch.setattr(live.executor, "execute", broken_execute)
    pid = live.queue_prompt(simple_prompt(31))["prompt_id"]
    entry = live.wait_done(pid)
    assert "cache exploded" in error_message(entry)["exception_message"]
    monkeypatch.setattr(live.executor, "execute", real_execute)
    assert live.wait_done(live.queue_prompt(simple_prompt(32))["prompt_id"])["status"]["status_str"] == "success"
    assert calls["n"] > 1
