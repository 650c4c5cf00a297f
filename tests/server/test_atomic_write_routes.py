"""The routes that replace files (settings, userdata, uploads) through server/atomic_write.py, on a live
server: a write that fails keeps the old file whole and leaves no temporary file; exclusive writes that race
never overwrite each other."""

from __future__ import annotations

import errno
import json
import os
import threading

from test_server_files import multipart, png_bytes


def _disk_full(fd):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def _temp_files(folder) -> list[str]:
    return [p.name for p in folder.rglob("*.tmp")] if folder.exists() else []


def test_a_settings_write_that_fails_keeps_the_old_settings(live, monkeypatch):
    assert live.request("POST", "/api/settings", {"Comfy.A": 1})[0] == 200
    monkeypatch.setattr(os, "fsync", _disk_full)
    assert live.request("POST", "/api/settings", {"Comfy.B": 2})[0] == 500
    monkeypatch.undo()
    assert live.json("GET", "/api/settings")[1] == {"Comfy.A": 1}
    assert _temp_files(live.root / "user") == []


def test_a_userdata_write_that_fails_keeps_the_old_file(live, monkeypatch):
    assert live.request("POST", "/api/userdata/w.json", raw=b'{"old": true}')[0] == 200
    monkeypatch.setattr(os, "fsync", _disk_full)
    assert live.request("POST", "/api/userdata/w.json", raw=b'{"new": true}')[0] == 500
    monkeypatch.undo()
    assert live.request("GET", "/api/userdata/w.json")[2] == b'{"old": true}'
    assert _temp_files(live.root / "user") == []


def test_racing_userdata_posts_with_overwrite_false_store_exactly_one(live):
    bodies = [json.dumps({"writer": i, "pad": "x" * 50_000}).encode() for i in range(6)]
    start = threading.Barrier(len(bodies))
    statuses = []

    def post(body):
        start.wait()
        statuses.append(live.request("POST", "/api/userdata/once.json?overwrite=false", raw=body)[0])

    threads = [threading.Thread(target=post, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] + [409] * 5
    assert live.request("GET", "/api/userdata/once.json")[2] in bodies
    assert _temp_files(live.root / "user") == []


def test_an_upload_on_a_full_disk_is_507_and_leaves_nothing(live, monkeypatch):
    data, content_type = multipart({}, "full.png", png_bytes())
    monkeypatch.setattr(os, "fsync", _disk_full)
    status, _, body = live.request("POST", "/upload/image", raw=data, headers={"Content-Type": content_type})
    monkeypatch.undo()
    assert status == 507 and json.loads(body)["error"]["type"] == "disk_full"
    input_dir = live.runtime.folders.input_dir
    assert not (input_dir / "full.png").exists() and _temp_files(input_dir) == []


def test_uploads_without_overwrite_take_the_next_free_name(live):
    first, content_type = multipart({}, "same.png", png_bytes(color=(1, 2, 3, 255)))
    other, other_type = multipart({}, "same.png", png_bytes(color=(9, 9, 9, 255)))
    upload = live.request
    assert json.loads(upload("POST", "/upload/image", raw=first, headers={"Content-Type": content_type})[2])[
        "name"] == "same.png"
    assert json.loads(upload("POST", "/upload/image", raw=first, headers={"Content-Type": content_type})[2])[
        "name"] == "same.png"  # the same bytes again: the same name
    assert json.loads(upload("POST", "/upload/image", raw=other, headers={"Content-Type": other_type})[2])[
        "name"] == "same (1).png"
    input_dir = live.runtime.folders.input_dir
    assert (input_dir / "same.png").read_bytes() == png_bytes(color=(1, 2, 3, 255))
    assert _temp_files(input_dir) == []
