"""The durable queue and history: ordering, caps, duplicates, restart recovery."""

from __future__ import annotations

import sqlite3

import pytest

from server.store import (
    FAILED_BY_RESTART,
    PENDING,
    DuplicatePromptIdError,
    QueueFullError,
    Store,
)


def open_store(path, **kw):
    """NORMAL sync keeps these tests fast; it survives process death, which is what they simulate."""
    return Store.open(path, synchronous="NORMAL", **kw)


def entry(status_str="success"):
    return {"outputs": {"2": {"value": [1]}}, "status": {"status_str": status_str, "completed": True, "messages": []},
            "meta": {}}


def add(store, pid, **kw):
    return store.add(pid, {"1": {"class_type": "Show", "inputs": {}}}, {"client_id": "c"}, ["1"], **kw)


def test_order_is_number_then_insertion_and_front_negates(tmp_path):
    store = open_store(tmp_path / "q.db")
    assert add(store, "a").number == 0
    assert add(store, "b").number == 1
    assert add(store, "c", front=True).number == -2
    assert add(store, "d", number=0.5).number == 0.5
    assert add(store, "e", number=0.5).number == 0.5
    _, pending = store.queue()
    assert [i.prompt_id for i in pending] == ["c", "a", "d", "e", "b"]
    assert [store.pop_next(0).prompt_id for _ in range(5)] == ["c", "a", "d", "e", "b"]
    assert store.pop_next(0) is None
    store.close()


def test_accepted_prompts_survive_reopen_with_their_data(tmp_path):
    store = open_store(tmp_path / "q.db")
    add(store, "a")
    store.add("s", {"1": {}}, {"x": 1}, ["1"], sensitive={"api_key_comfy_org": "secret"})
    # No close: the process "dies" with the connection open.
    again = open_store(tmp_path / "q.db")
    _, pending = again.queue()
    assert [i.prompt_id for i in pending] == ["a", "s"]
    assert pending[1].sensitive == {"api_key_comfy_org": "secret"}
    assert pending[1].as_list() == [1, "s", {"1": {}}, {"x": 1}, ["1"]]
    assert add(again, "n").number == 2  # the counter survives too
    store.close()
    again.close()


def test_running_prompt_is_requeued_once_then_failed_by_restart(tmp_path):
    path = tmp_path / "q.db"
    store = open_store(path)
    add(store, "a")
    add(store, "b")
    assert store.pop_next(0).prompt_id == "a"
    # Die while running "a".
    second = open_store(path)
    assert second.recovery.requeued == ["a"] and second.recovery.failed == []
    _, pending = second.queue()
    assert [i.prompt_id for i in pending] == ["a", "b"]
    assert second.pop_next(0).prompt_id == "a"
    # Die again while running "a".
    third = open_store(path)
    assert third.recovery.failed == ["a"]
    assert third.status_of("a") == FAILED_BY_RESTART
    history = third.history(prompt_id="a")["a"]
    assert history["status"]["status_str"] == "error" and history["status"]["completed"] is False
    assert "failed by restart" in history["status"]["messages"][0][1]["exception_message"]
    assert [i.prompt_id for i in third.queue()[1]] == ["b"]
    assert third.status_of("b") == PENDING


def test_history_entries_survive_restart_and_are_capped(tmp_path):
    store = open_store(tmp_path / "q.db", history_max=3)
    for pid in "abcde":
        add(store, pid)
        store.pop_next(0)
        store.finish(pid, "success", entry())
    assert list(store.history()) == ["c", "d", "e"]
    again = open_store(tmp_path / "q.db", history_max=3)
    hist = again.history()
    assert list(hist) == ["c", "d", "e"]
    assert hist["e"]["prompt"][1] == "e" and hist["e"]["outputs"] == {"2": {"value": [1]}}
    assert list(again.history(max_items=2)) == ["d", "e"]
    assert list(again.history(max_items=1, offset=0)) == ["c"]


def test_sensitive_data_is_dropped_once_finished(tmp_path):
    store = open_store(tmp_path / "q.db")
    store.add("s", {}, {}, [], sensitive={"api_key_comfy_org": "secret"})
    store.pop_next(0)
    store.finish("s", "success", entry())
    store.close()
    raw = sqlite3.connect(tmp_path / "q.db").execute("SELECT sensitive FROM prompts").fetchall()
    assert raw == [(None,)]


def test_queue_cap_and_duplicates(tmp_path):
    store = open_store(tmp_path / "q.db", max_queue_size=2)
    add(store, "a")
    with pytest.raises(DuplicatePromptIdError):
        add(store, "a")
    add(store, "b")
    with pytest.raises(QueueFullError, match="full"):
        add(store, "c")
    store.pop_next(0)
    store.finish("a", "success", entry())
    with pytest.raises(DuplicatePromptIdError):  # also a duplicate of a history entry
        add(store, "a")
    add(store, "c")


def test_delete_only_touches_pending(tmp_path):
    store = open_store(tmp_path / "q.db")
    for pid in "abc":
        add(store, pid)
    store.pop_next(0)
    assert store.delete_pending(["a", "b", "zzz"]) == ["b"]
    assert store.delete_pending(None) == ["c"]
    running, pending = store.queue()
    assert [i.prompt_id for i in running] == ["a"] and pending == []


def test_requeue_on_graceful_stop_does_not_count_an_attempt(tmp_path):
    store = open_store(tmp_path / "q.db")
    add(store, "a")
    for _ in range(3):
        item = store.pop_next(0)
        assert item.attempts == 1
        store.requeue("a")
    store.pop_next(0)
    again = open_store(tmp_path / "q.db")
    assert again.recovery.requeued == ["a"]


def test_failed_write_leaves_queue_consistent(tmp_path, monkeypatch):
    store = open_store(tmp_path / "q.db")
    add(store, "a")
    store.pop_next(0)
    real_write = store._write_terminal

    def disk_full(*args):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(store, "_write_terminal", disk_full)
    with pytest.raises(sqlite3.OperationalError):
        store.finish("a", "success", entry())
    monkeypatch.setattr(store, "_write_terminal", real_write)
    assert store.running_ids() == ["a"]
    store.finish("a", "success", entry())
    assert store.status_of("a") == "success"


def test_accepting_commits_with_full_sync_and_worker_writes_restore_it(tmp_path):
    store = Store.open(tmp_path / "q.db")
    level = lambda: store._conn.execute("PRAGMA synchronous").fetchone()[0]  # noqa: E731
    assert level() == 2  # FULL
    add(store, "a")
    store.pop_next(0)
    store.finish("a", "success", entry())
    assert level() == 2
    with pytest.raises(ValueError, match="synchronous"):
        Store.open(tmp_path / "other.db", synchronous="OFF")
