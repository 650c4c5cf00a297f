"""server/atomic_write.py: whole-or-nothing file replacement, on real files in a temporary folder."""

from __future__ import annotations

import errno
import os
import stat
import threading

import pytest

from server import atomic_write
from server.atomic_write import StagedFile, atomic_file, write_atomically


def _leftovers(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_writes_new_and_replaces_old_content(tmp_path):
    target = tmp_path / "a.json"
    write_atomically(target, b"first")
    assert target.read_bytes() == b"first"
    write_atomically(str(target), b"second, longer than the first")
    assert target.read_bytes() == b"second, longer than the first"
    assert _leftovers(tmp_path) == []


def test_a_new_file_gets_the_permissions_of_a_plain_open(tmp_path):
    umask = os.umask(0o022)
    os.umask(umask)
    write_atomically(tmp_path / "f", b"x")
    assert stat.S_IMODE((tmp_path / "f").stat().st_mode) == 0o666 & ~umask


def test_the_file_is_fsynced_and_renamed_then_the_folder_is_fsynced(tmp_path, monkeypatch):
    calls = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (calls.append(("fsync", stat.S_ISDIR(os.fstat(fd).st_mode))),
                                                 real_fsync(fd)))
    monkeypatch.setattr(os, "replace", lambda a, b: (calls.append(("replace", None)), real_replace(a, b)))
    write_atomically(tmp_path / "f", b"x")
    assert calls == [("fsync", False), ("replace", None), ("fsync", True)]


@pytest.mark.parametrize("failure", [OSError(errno.ENOSPC, "No space left on device"), KeyboardInterrupt()])
def test_a_failure_midway_keeps_the_old_content_and_leaves_no_temp_file(tmp_path, failure):
    target = tmp_path / "settings.json"
    target.write_bytes(b"old and whole")

    with pytest.raises(type(failure)):
        with atomic_file(target) as handle:
            handle.write(b"new part one ")
            handle.flush()
            assert _leftovers(tmp_path)  # the partial bytes are in a temp file, not in the target
            raise failure
    assert target.read_bytes() == b"old and whole"
    assert _leftovers(tmp_path) == []


def test_a_full_disk_at_fsync_keeps_the_old_content(tmp_path, monkeypatch):
    target = tmp_path / "f"
    target.write_bytes(b"old")

    def disk_full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError) as caught:
        write_atomically(target, b"new" * 1000)
    assert caught.value.errno == errno.ENOSPC
    assert target.read_bytes() == b"old" and _leftovers(tmp_path) == []


def test_a_failed_rename_keeps_the_old_content(tmp_path, monkeypatch):
    target = tmp_path / "f"
    target.write_bytes(b"old")

    def refuse(src, dst):
        raise PermissionError(errno.EACCES, "denied")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(PermissionError):
        write_atomically(target, b"new")
    assert target.read_bytes() == b"old" and _leftovers(tmp_path) == []


def test_a_folder_where_the_file_belongs_is_an_error_and_stays(tmp_path):
    (tmp_path / "f").mkdir()
    with pytest.raises(IsADirectoryError):
        write_atomically(tmp_path / "f", b"x")
    assert (tmp_path / "f").is_dir() and _leftovers(tmp_path) == []


def test_a_missing_folder_is_a_clear_error(tmp_path):
    target = tmp_path / "not here" / "f.json"
    with pytest.raises(FileNotFoundError) as caught:
        write_atomically(target, b"x")
    assert caught.value.errno == errno.ENOENT
    assert "does not exist" in str(caught.value) and "not here" in str(caught.value)
    assert not (tmp_path / "not here").exists()


def test_overwrite_false_refuses_an_existing_file(tmp_path):
    target = tmp_path / "f"
    write_atomically(target, b"one", overwrite=False)
    with pytest.raises(FileExistsError):
        write_atomically(target, b"two", overwrite=False)
    assert target.read_bytes() == b"one" and _leftovers(tmp_path) == []


def test_concurrent_writers_end_with_one_complete_content(tmp_path):
    target = tmp_path / "shared.bin"
    payloads = [bytes([i]) * (256 * 1024 + i) for i in range(8)]
    start = threading.Barrier(len(payloads))
    errors = []

    def writer(data):
        try:
            start.wait()
            for _ in range(3):
                write_atomically(target, data)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(p,)) for p in payloads]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert target.read_bytes() in payloads
    assert _leftovers(tmp_path) == []


def test_concurrent_exclusive_writers_one_wins_the_rest_are_refused(tmp_path):
    target = tmp_path / "once"
    payloads = [bytes([i]) * 65536 for i in range(6)]
    start = threading.Barrier(len(payloads))
    outcomes = []

    def writer(data):
        start.wait()
        try:
            write_atomically(target, data, overwrite=False)
            outcomes.append("won")
        except FileExistsError:
            outcomes.append("refused")

    threads = [threading.Thread(target=writer, args=(p,)) for p in payloads]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["refused"] * 5 + ["won"]
    assert target.read_bytes() in payloads and _leftovers(tmp_path) == []


def test_a_staged_file_tries_names_until_one_is_free(tmp_path):
    (tmp_path / "a.png").write_bytes(b"taken")
    with StagedFile(tmp_path, label="upload") as staged:
        staged.write(b"chunk one, ")
        staged.write(b"chunk two")
        with pytest.raises(FileExistsError):
            staged.publish(tmp_path / "a.png", overwrite=False)
        staged.publish(tmp_path / "a (1).png", overwrite=False)
        with pytest.raises(RuntimeError):
            staged.publish(tmp_path / "a (2).png")
    assert (tmp_path / "a.png").read_bytes() == b"taken"
    assert (tmp_path / "a (1).png").read_bytes() == b"chunk one, chunk two"
    assert _leftovers(tmp_path) == []


def test_a_staged_file_publishes_only_into_its_own_folder(tmp_path):
    (tmp_path / "other").mkdir()
    with StagedFile(tmp_path) as staged:
        staged.write(b"x")
        with pytest.raises(ValueError, match="same folder"):
            staged.publish(tmp_path / "other" / "f")
    assert list((tmp_path / "other").iterdir()) == [] and _leftovers(tmp_path) == []


def test_a_target_name_at_the_length_limit_still_has_a_short_enough_temp_name(tmp_path):
    name = "é" * 127  # 254 bytes in UTF-8: a temp name made by prefixing it would be too long
    write_atomically(tmp_path / name, b"x")
    assert (tmp_path / name).read_bytes() == b"x" and _leftovers(tmp_path) == []


def test_the_folder_sync_is_skipped_where_folders_cannot_be_opened(tmp_path, monkeypatch):
    real_open = os.open

    def no_folders(path, flags, *args):
        if os.path.isdir(path):
            raise PermissionError(errno.EACCES, "folders cannot be opened here")
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "open", no_folders)
    atomic_write.sync_folder(tmp_path)  # no error
    write_atomically(tmp_path / "f", b"x")
    assert (tmp_path / "f").read_bytes() == b"x"
