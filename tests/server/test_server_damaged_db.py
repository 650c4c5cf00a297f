"""A damaged queue database at start (issue 20, item 5), with real damaged files: the server starts,
keeps every queued prompt it can read, moves the damaged file aside with a timestamp, and says so in
the log and in /system_stats."""

from __future__ import annotations

import logging
import os
import random
import re
import sqlite3

import pytest
from server_harness import LiveServer, simple_prompt

from server.store import Store
from server.store_repair import is_damage

FILLER = "x" * 1500  # big rows: the table spans many pages, so damage hits some rows and spares others


def build_db(path, *, queued_first: bool, n_history: int = 200, n_queued: int = 12) -> tuple[list[str], list[str]]:
    """A closed database with finished prompts and queued ones (the first queued one left running)."""
    store = Store.open(path, synchronous="NORMAL")
    queued, history = [], []

    def add_queued():
        for i in range(n_queued):
            pid = f"q{i:03d}"
            store.add(pid, {**simple_prompt(i), "pad": {"class_type": "Const", "inputs": {"value": 0}}},
                      {"client_id": "c", "note": FILLER}, ["2"], number=10**6 + i)  # after the history ones
            queued.append(pid)

    def add_history():
        for i in range(n_history):
            pid = f"h{i:04d}"
            store.add(pid, simple_prompt(i), {"note": FILLER}, ["2"])
            item = store.pop_next(0)
            store.finish(item.prompt_id, "success", {"outputs": {"2": {"value": [i]}}, "status": {
                "status_str": "success", "completed": True, "messages": []}, "meta": {}})
            history.append(pid)

    if queued_first:
        add_queued()
        add_history()
    else:
        add_history()
        add_queued()
    first = min(store.queue()[1], key=lambda item: (item.number, item.seq))
    assert store.pop_next(0).prompt_id == first.prompt_id  # left running: a restart re-queues it
    store.close()
    assert not path.with_name(path.name + "-wal").exists() or path.with_name(path.name + "-wal").stat().st_size == 0
    return queued, history


def page_size(path) -> int:
    size = int.from_bytes(path.read_bytes()[16:18], "big")
    return 65536 if size == 1 else size


def garbage(n: int, seed: int = 7) -> bytes:
    return random.Random(seed).randbytes(n)


def cut_to_half(path):
    os.truncate(path, path.stat().st_size // 2)


def garbage_header(path):
    with open(path, "r+b") as handle:
        handle.write(garbage(100))


def garbage_in_middle_pages(path):
    size, total = page_size(path), path.stat().st_size
    pages = total // size
    with open(path, "r+b") as handle:
        for page in range(pages * 2 // 5, pages * 3 // 5):
            handle.seek(page * size)
            handle.write(garbage(size, page))


def start(root):
    return LiveServer(root)


def damaged_files(root) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.name.startswith("queue.db.damaged-")
                  and not p.name.endswith(("-wal", "-shm")))


def check_reported(server, root, caplog) -> dict:
    facts = server.json("GET", "/system_stats")[1]["queue_database"]
    assert facts["status"] == "repaired", facts
    names = damaged_files(root)
    assert len(names) == 1 and re.fullmatch(r"queue\.db\.damaged-\d{8}T\d{6}Z", names[0])
    assert facts["damaged_file"] == str(root / names[0]) and names[0] in facts["message"]
    assert any("damaged" in record.getMessage() and record.levelno >= logging.ERROR for record in caplog.records)
    assert server.json("GET", "/history")[0] == 200 and server.json("GET", "/queue")[0] == 200
    return facts


def all_run(server, ids) -> None:
    for pid in ids:
        assert server.wait_done(pid)["status"]["status_str"] == "success", pid


@pytest.mark.parametrize("queued_first", [True, False])
def test_garbage_in_middle_pages_keeps_every_readable_queued_prompt(tmp_path, caplog, queued_first):
    queued, history = build_db(tmp_path / "queue.db", queued_first=queued_first)
    garbage_in_middle_pages(tmp_path / "queue.db")
    server = start(tmp_path)
    try:
        facts = check_reported(server, tmp_path, caplog)
        assert facts["kept_queued"] == len(queued)  # the queue sits at one end: untouched by the damage
        assert 0 < facts["kept_history"] < len(history)
        all_run(server, queued)
        kept = server.json("GET", "/history?max_items=1000")[1]
        assert set(queued) <= set(kept) and len(kept) == len(queued) + facts["kept_history"]
        assert server.queue_prompt(simple_prompt(99))["prompt_id"]
    finally:
        server.stop()


def test_a_file_cut_to_half_keeps_the_queue_written_first(tmp_path, caplog):
    queued, history = build_db(tmp_path / "queue.db", queued_first=True)
    cut_to_half(tmp_path / "queue.db")
    server = start(tmp_path)
    try:
        facts = check_reported(server, tmp_path, caplog)
        assert facts["kept_queued"] == len(queued) and facts["kept_history"] < len(history)
        all_run(server, queued)
    finally:
        server.stop()


def test_a_file_cut_to_half_after_the_history_still_starts(tmp_path, caplog):
    build_db(tmp_path / "queue.db", queued_first=False)
    cut_to_half(tmp_path / "queue.db")
    server = start(tmp_path)
    try:
        facts = check_reported(server, tmp_path, caplog)
        assert facts["kept_history"] > 0
        accepted = server.queue_prompt(simple_prompt(5))
        assert server.wait_done(accepted["prompt_id"])["status"]["status_str"] == "success"
    finally:
        server.stop()


def test_a_garbage_header_keeps_the_rows_and_the_file(tmp_path, caplog):
    queued, _ = build_db(tmp_path / "queue.db", queued_first=True, n_history=5)
    garbage_header(tmp_path / "queue.db")
    before = (tmp_path / "queue.db").read_bytes()
    server = start(tmp_path)
    try:
        facts = check_reported(server, tmp_path, caplog)
        assert "not a database" in facts["problem"]
        assert facts["kept_queued"] == len(queued) and facts["kept_history"] == 5  # read under a rebuilt header
        assert (tmp_path / damaged_files(tmp_path)[0]).read_bytes() == before  # kept as found
        all_run(server, queued)
        accepted = server.queue_prompt(simple_prompt(5))
        assert server.wait_done(accepted["prompt_id"])["status"]["status_str"] == "success"
    finally:
        server.stop()


def test_a_zero_byte_file_is_reported(tmp_path, caplog):
    (tmp_path / "queue.db").write_bytes(b"")
    server = start(tmp_path)
    try:
        facts = server.json("GET", "/system_stats")[1]["queue_database"]
        assert facts["status"] == "found_empty" and "empty" in facts["message"]
        assert any("empty" in record.getMessage() for record in caplog.records if record.levelno >= logging.WARNING)
        assert damaged_files(tmp_path) == []
        assert server.queue_prompt(simple_prompt(5))["prompt_id"]
    finally:
        server.stop()


def test_a_sound_database_is_left_alone(tmp_path):
    queued, history = build_db(tmp_path / "queue.db", queued_first=True, n_history=3, n_queued=2)
    server = start(tmp_path)
    try:
        assert server.json("GET", "/system_stats")[1]["queue_database"] == {"status": "ok"}
        assert damaged_files(tmp_path) == []
        all_run(server, queued)
    finally:
        server.stop()


def test_a_repaired_database_is_sound_at_the_next_start(tmp_path, caplog):
    queued, _ = build_db(tmp_path / "queue.db", queued_first=False)
    garbage_in_middle_pages(tmp_path / "queue.db")
    store = Store.open(tmp_path / "queue.db", synchronous="NORMAL")
    assert store.repair is not None and store.repair.kept_queued == len(queued)
    store.close()
    store = Store.open(tmp_path / "queue.db", synchronous="NORMAL")
    try:
        assert store.repair is None and len(store.queue()[1]) == len(queued)
        assert store.recovery.requeued == []  # the running one was re-queued by the first open
        number = store.add("new", {}, {}, []).number
        assert number >= len(queued)  # the counter survived: no number is handed out twice
    finally:
        store.close()


def test_a_locked_database_is_not_mistaken_for_damage(tmp_path):
    path = tmp_path / "plain.db"  # a rollback-journal database: an exclusive lock blocks readers
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE prompts (seq INTEGER)")
    holder.execute("BEGIN EXCLUSIVE")
    other = sqlite3.connect(path, timeout=0)
    try:
        with pytest.raises(sqlite3.OperationalError) as info:
            other.execute("SELECT * FROM prompts").fetchall()
        assert not is_damage(info.value)
    finally:
        other.close()
        holder.execute("ROLLBACK")
        holder.close()


def test_a_queued_row_with_broken_json_is_set_aside_and_the_rest_kept(tmp_path, caplog):
    """Garbage inside a row passes SQLite's own check; the JSON does not parse."""
    path = tmp_path / "queue.db"
    queued, history = build_db(path, queued_first=False, n_history=3, n_queued=4)
    conn = sqlite3.connect(path)
    conn.execute("UPDATE prompts SET prompt = '{\"1\": {broken' WHERE prompt_id = ?", (queued[2],))
    conn.commit()
    conn.close()
    server = start(tmp_path)
    try:
        facts = check_reported(server, tmp_path, caplog)
        assert facts["unreadable_rows"] == 1 and facts["kept_queued"] == len(queued) - 1
        assert facts["kept_history"] == len(history)
        all_run(server, [pid for pid in queued if pid != queued[2]])
    finally:
        server.stop()
