"""A paused queue stays paused when the queue database is found damaged and rebuilt (or found empty) at start:
the flag is kept also in `queue.db.pause.json` (server/store_pause_file.py) and the rebuild carries the
readable `settings` rows. A pause file that is damaged itself never stops the server from starting."""

from __future__ import annotations

import json
import logging
import random
import sqlite3
import time

import pytest
from server_harness import LiveServer, simple_prompt

from server.store import Store
from server.store_pause_file import pause_file_for

FILLER = "x" * 1500  # rows over several pages, so damage to one page leaves the others readable


def pending_ids(live) -> list[str]:
    return [item[1] for item in live.json("GET", "/queue")[1]["queue_pending"]]


def idle_a_while(live) -> None:
    """Longer than the worker's wait on the queue (0.5 s): a worker that would start a prompt has done so."""
    time.sleep(0.7)
    assert live.state.worker.current_prompt_id is None


def page_size(path) -> int:
    size = int.from_bytes(path.read_bytes()[16:18], "big")
    return 65536 if size == 1 else size


def garbage_over_the_settings_table(path) -> None:
    """Destroy the one page the `settings` table lives on: the database's copy of the flag is gone."""
    with sqlite3.connect(path) as conn:
        root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'settings'").fetchone()[0]
    conn.close()
    size = page_size(path)
    with open(path, "r+b") as handle:
        handle.seek((root - 1) * size)
        handle.write(random.Random(root).randbytes(size))


def garbage_header(path) -> None:
    with open(path, "r+b") as handle:
        handle.write(random.Random(7).randbytes(100))


def emptied(path) -> None:
    path.write_bytes(b"")


def paused_store_with_prompts(path, *, paused: bool = True, n: int = 6) -> list[str]:
    """A closed database: the queue paused (or paused then resumed) with `n` prompts waiting."""
    store = Store.open(path, synchronous="NORMAL")
    store.set_paused(True)
    if not paused:
        store.set_paused(False)
    ids = []
    for i in range(n):
        ids.append(f"q{i}")
        store.add(ids[-1], simple_prompt(i), {"note": FILLER}, ["2"])
    store.close()
    return ids


@pytest.mark.parametrize("damage", [garbage_over_the_settings_table, garbage_header, emptied])
def test_a_paused_queue_stays_paused_through_a_rebuilt_database_until_resumed(tmp_path, damage, caplog):
    live = LiveServer(tmp_path)
    assert live.json("POST", "/queue", {"pause": True})[0] == 200
    ids = [live.queue_prompt(simple_prompt(i))["prompt_id"] for i in range(3)]
    live.stop()
    damage(tmp_path / "queue.db")

    live = LiveServer(tmp_path)
    try:
        facts = live.json("GET", "/system_stats")[1]["queue_database"]
        assert facts["status"] in ("repaired", "found_empty") and facts["kept_paused"] is True
        assert "stays paused" in facts["message"]
        assert live.json("GET", "/queue")[1]["paused"] is True
        kept = pending_ids(live)
        assert set(kept) <= set(ids) and (kept or damage is emptied)
        later = live.queue_prompt(simple_prompt(9))["prompt_id"]
        idle_a_while(live)
        assert pending_ids(live) == [*kept, later]  # nothing started
        assert live.json("POST", "/queue", {"resume": True})[0] == 200
        for pid in [*kept, later]:
            assert live.wait_done(pid)["status"]["status_str"] == "success"
    finally:
        live.stop()
    store = Store.open(tmp_path / "queue.db", synchronous="NORMAL")
    assert store.repair is None and store.paused is False  # the resume reached the rebuilt database
    store.close()
    assert json.loads(pause_file_for(tmp_path / "queue.db").read_text()) == {"queue_paused": False}


def test_a_resumed_queue_is_not_paused_by_a_rebuild(tmp_path):
    path = tmp_path / "queue.db"
    paused_store_with_prompts(path, paused=False)
    garbage_over_the_settings_table(path)
    store = Store.open(path, synchronous="NORMAL")
    try:
        assert store.repair is not None and store.repair.damaged_file and store.paused is False
        assert store.repair.kept_paused is False and "paused" not in store.repair.sentence()
        assert store.pop_next(0) is not None
    finally:
        store.close()


def test_without_the_pause_file_the_rebuild_keeps_the_readable_settings_row(tmp_path):
    """A database paused by a version that wrote no pause file, then damaged: the salvaged row carries it."""
    path = tmp_path / "queue.db"
    ids = paused_store_with_prompts(path)
    pause_file_for(path).unlink()
    garbage_header(path)
    store = Store.open(path, synchronous="NORMAL")
    try:
        assert store.repair is not None and store.repair.kept_queued == len(ids)
        assert store.paused is True and store.pop_next(0) is None
        assert json.loads(pause_file_for(path).read_text()) == {"queue_paused": True}  # written again
    finally:
        store.close()


BROKEN_PAUSE_FILES = {
    "garbage bytes": lambda p: p.write_bytes(random.Random(3).randbytes(64)),
    "cut short": lambda p: p.write_text('{"queue_pa'),
    "not a flag": lambda p: p.write_text('{"queue_paused": "yes"}'),
    "a list": lambda p: p.write_text("[true]"),
}


@pytest.mark.parametrize("breaks", BROKEN_PAUSE_FILES.values(), ids=BROKEN_PAUSE_FILES.keys())
@pytest.mark.parametrize("paused", [True, False])
def test_a_broken_pause_file_warns_and_the_sound_database_decides(tmp_path, caplog, breaks, paused):
    path = tmp_path / "queue.db"
    paused_store_with_prompts(path, paused=paused, n=1)
    breaks(pause_file_for(path))
    with caplog.at_level(logging.WARNING, logger="latentgraph.server.store"):
        store = Store.open(path, synchronous="NORMAL")
    try:
        assert store.repair is None and store.paused is paused
        assert "pause.json" in caplog.text and "the queue database's flag is used" in caplog.text
        assert json.loads(pause_file_for(path).read_text()) == {"queue_paused": paused}  # mended
    finally:
        store.close()


def test_a_broken_pause_file_and_a_lost_settings_row_still_start_with_the_databases_value(tmp_path, caplog):
    path = tmp_path / "queue.db"
    ids = paused_store_with_prompts(path)
    pause_file_for(path).write_bytes(b"\xff\xfe not text")
    garbage_over_the_settings_table(path)
    with caplog.at_level(logging.WARNING, logger="latentgraph.server.store"):
        store = Store.open(path, synchronous="NORMAL")
    try:
        assert store.repair is not None and store.repair.kept_queued == len(ids)
        assert store.paused is False  # neither copy of the flag could be read: the rebuilt database's value
        assert "could not be read" in caplog.text
        assert json.loads(pause_file_for(path).read_text()) == {"queue_paused": False}
    finally:
        store.close()


def test_a_pause_file_that_cannot_be_written_never_blocks_the_store(tmp_path, caplog):
    path = tmp_path / "queue.db"
    pause_file_for(path).mkdir(parents=True)  # a folder where the file belongs: neither read nor written
    with caplog.at_level(logging.WARNING, logger="latentgraph.server.store"):
        store = Store.open(path, synchronous="NORMAL")
        assert store.set_paused(True) and store.paused is True
    store.close()
    assert "could not write the queue's pause file" in caplog.text
    store = Store.open(path, synchronous="NORMAL")
    assert store.paused is True  # the database holds the flag
    store.close()
    assert not list(tmp_path.glob(".*.tmp"))  # no temporary file left behind by the failed writes


def test_a_pause_file_left_paused_by_a_pause_that_never_committed_is_mended(tmp_path):
    """The file is written before the database on a pause: a crash between the two leaves the file paused
    and the database not; a sound database decides, as the pause was never acknowledged."""
    path = tmp_path / "queue.db"
    Store.open(path, synchronous="NORMAL").close()
    pause_file_for(path).write_text('{"queue_paused": true}')
    store = Store.open(path, synchronous="NORMAL")
    assert store.paused is False
    store.close()
    assert json.loads(pause_file_for(path).read_text()) == {"queue_paused": False}
