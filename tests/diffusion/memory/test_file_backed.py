"""Tensors moved into unnamed files on disk (diffusion/memory/file_backed.py): same values and layout, edits go
through, dropped pages leave the process without losing data, and every refusal leaves the tensor as it was."""

from __future__ import annotations

import errno
import os
import sys
from pathlib import Path

import pytest
import torch

import diffusion.memory.file_backed as file_backed
from diffusion.memory.file_backed import MIN_BYTES, disk_directory, filesystem_type, to_file_backed
from tests.diffusion.file_pages import resident_kib

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="file-backed tensors are Linux only")





@pytest.mark.parametrize("channels_last", [False, True])
def test_a_moved_tensor_keeps_its_values_and_layout_and_leaves_no_file(disk, channels_last):
    tensor = torch.randn(256, 128, 3, 3)  # 1.2 MB
    if channels_last:
        tensor = tensor.to(memory_format=torch.channels_last)
    mapped, mapping = to_file_backed(tensor, disk)
    assert torch.equal(mapped, tensor) and mapped.stride() == tensor.stride() and mapped.dtype == tensor.dtype
    assert mapping.holds(mapped) and not mapping.holds(tensor)
    assert mapping.nbytes == tensor.numel() * 4
    assert list(disk.iterdir()) == []  # unnamed: nothing to clean up, whatever way the process ends


def test_dropped_pages_leave_the_process_and_the_data_stays(disk):
    tensor = torch.randn(512, 1024)  # 2 MiB
    mapped, mapping = to_file_backed(tensor, disk)
    assert resident_kib(mapped) == 0  # moved with its pages already dropped
    mapped.mul_(2.0)  # edits write through to the file
    assert resident_kib(mapped) >= 2048
    assert mapping.drop_resident_pages()
    assert resident_kib(mapped) == 0
    assert torch.equal(mapped, tensor * 2.0)  # read back in from the file


def test_small_inference_and_strided_tensors_stay_in_memory(disk):
    assert to_file_backed(torch.randn(MIN_BYTES // 4 - 1), disk) is None
    with torch.inference_mode():
        inference = torch.randn(MIN_BYTES // 2)
    assert to_file_backed(inference, disk) is None
    assert to_file_backed(torch.randn(1024, 1024).t()[::2], disk) is None
    assert list(disk.iterdir()) == []


def test_a_full_disk_refuses_cleanly(disk, monkeypatch):
    def no_space(fd, offset, length):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "posix_fallocate", no_space)
    tensor = torch.randn(512, 1024)
    before = tensor.clone()
    assert to_file_backed(tensor, disk) is None
    assert torch.equal(tensor, before)
    assert len(os.listdir("/proc/self/fd")) < 1000  # and no file descriptor left open per refusal
    assert list(disk.iterdir()) == []


def test_a_file_system_without_unnamed_files_gets_a_removed_name(disk, monkeypatch):
    monkeypatch.delattr(os, "O_TMPFILE", raising=False)
    mapped, _ = to_file_backed(torch.ones(512, 1024), disk)
    assert float(mapped.sum()) == 512 * 1024
    assert list(disk.iterdir()) == []


def test_the_mount_of_a_path_is_the_longest_matching_mount_point(tmp_path):
    mounts = tmp_path / "mounts"
    mounts.write_text(
        "/dev/vda / ext4 rw 0 0\n"
        "tmpfs /dev/shm tmpfs rw 0 0\n"
        "tmpfs /srv/my\\040models tmpfs rw 0 0\n"
        "short line\n"
    )
    assert filesystem_type(Path("/dev/shm/x"), str(mounts)) == "tmpfs"
    assert filesystem_type(Path("/dev/shmother"), str(mounts)) == "ext4"  # a prefix of a name is not a mount
    assert filesystem_type(Path("/srv/my models/a"), str(mounts)) == "tmpfs"
    assert filesystem_type(Path("/work"), str(tmp_path / "missing")) is None


def test_directories_in_memory_or_unwritable_are_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(file_backed, "filesystem_type", lambda path: "tmpfs")
    assert disk_directory(tmp_path / "a") is None
    monkeypatch.setattr(file_backed, "filesystem_type", lambda path: "ext4")
    assert disk_directory(tmp_path / "a") is None  # the refusal is remembered
    assert disk_directory(tmp_path / "a", recheck=True) == tmp_path / "a"
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert disk_directory(blocker / "sub") is None  # cannot be made
    assert disk_directory(None) is None


def test_a_file_system_about_to_fill_up_keeps_the_tensor_in_memory(disk, monkeypatch):
    real = os.statvfs(disk)

    class AlmostFull:
        f_frsize, f_blocks = real.f_frsize, real.f_blocks
        f_bavail = (file_backed.RESERVE_BYTES + MIN_BYTES) // real.f_frsize  # the reserve and a little more

    monkeypatch.setattr(os, "statvfs", lambda path: AlmostFull)
    assert to_file_backed(torch.randn(512, 1024), disk) is None  # 2 MiB would eat into the reserve
    assert list(disk.iterdir()) == []


def test_a_tied_weight_moves_and_counts_once(disk):
    from torch import nn

    first, second = nn.Linear(512, 1024, bias=False), nn.Linear(512, 1024, bias=False)
    second.weight = first.weight  # tied, as some text encoders tie embeddings
    module = nn.Sequential(first, second)
    assert file_backed.move_module_to_files(module, disk) == 2 * 2**20
    assert file_backed.file_backed_module_bytes(module) == 2 * 2**20 and file_backed.host_memory_bytes(module) == 0
    assert first.weight is second.weight and file_backed.mapping_of(second.weight) is not None


def test_a_folder_is_checked_once_until_it_is_gone_or_rechecked(tmp_path, monkeypatch):
    if not sys.platform.startswith("linux"):
        pytest.skip("file-backed weights are Linux only")
    checked = []
    monkeypatch.setattr(file_backed, "filesystem_type", lambda path: checked.append(path) or "ext4")
    folder = tmp_path / "weights"
    assert disk_directory(folder) == folder
    assert disk_directory(str(folder)) == folder and len(checked) == 1  # the manager and each UNet load ask
    folder.rmdir()  # deleted meanwhile: checked (and made) again
    assert disk_directory(folder) == folder and folder.is_dir() and len(checked) == 2
    assert disk_directory(folder, recheck=True) == folder and len(checked) == 3
    assert disk_directory(tmp_path / "other") == tmp_path / "other" and len(checked) == 4  # per folder
