"""CPU tensors whose memory is an unnamed file on disk: for weights that must stay readable but are rarely read.

A UNet layer that runs on a packed oneDNN copy of its weight (diffusion/models/unet/prepacked.py) still
needs its plain weight — LoRA patching, merging, saving and moving to another device read it — but no
computation does. Kept in ordinary memory it doubles those weights' footprint (2.2 GB more for SD1.5 in
fp32). Moved into a shared mapping of a file on disk it stays a normal tensor (read and written in place,
changes go to the file), while its pages leave the process once dropped (`FileMapping.drop_resident_pages`,
`madvise(MADV_DONTNEED)`, which for a shared file mapping keeps the data: the next read faults it back in
from the page cache or the disk). The kernel then treats them as reclaimable cache, not as the process's
memory.

The file is unnamed (`O_TMPFILE`, else a name removed at once), so nothing is left behind, whatever way the
process ends; its blocks are reserved with `posix_fallocate` before the mapping is written, so a full disk
is a clean refusal (`None`, the tensor stays in memory) instead of a SIGBUS on a later write, and a file
is only made while the file system keeps 2 GB or 5 % free beside it (`RESERVE_BYTES`, `RESERVE_FRACTION`). Only Linux,
only a directory on a disk file system (tmpfs or ramfs would keep the pages in memory anyway), only tensors
of at least `MIN_BYTES` (smaller ones gain nothing against the page granularity and a file each).
"""

from __future__ import annotations

import ctypes
import logging
import os
import sys
import tempfile
import threading
import weakref
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from diffusion.memory.libc import libc_function

log = logging.getLogger(__name__)

MIN_BYTES = 1 << 20
# Free space a file-backed tensor must leave on its file system (the larger of the two): weights must not
# take the last gigabytes the outputs, the queue database and other programs need.
RESERVE_BYTES = 2 << 30
RESERVE_FRACTION = 0.05
MEMORY_FILESYSTEMS = frozenset({"tmpfs", "ramfs", "hugetlbfs", "devtmpfs", "ramdisk"})
_MADV_DONTNEED = 4  # Linux

# Every live mapping made here by its address (an entry lives while a holder keeps its FileMapping: a layer,
# or _HOLDERS for whole modules), so that `mapping_of` knows a tensor's storage is a file made here.
_MAPPINGS: weakref.WeakValueDictionary[int, FileMapping] = weakref.WeakValueDictionary()
_HOLDERS: weakref.WeakKeyDictionary[nn.Module, list[FileMapping]] = weakref.WeakKeyDictionary()
# disk_directory's answers by absolute folder (None: refused)
_DIRECTORIES: dict[Path, Path | None] = {}
_DIRECTORIES_LOCK = threading.Lock()


@dataclass(frozen=True)
class FileMapping:
    """The file-backed storage a tensor was moved into. Holding it keeps the mapping (and so its address)
    alive: `holds` can then tell by address whether a tensor still uses it, and pages are only ever dropped
    from a mapping made here."""

    storage: torch.UntypedStorage
    nbytes: int

    def holds(self, tensor: torch.Tensor) -> bool:
        """Whether `tensor`'s memory is this mapping."""
        return tensor.device.type == "cpu" and tensor.untyped_storage().data_ptr() == self.storage.data_ptr()

    def drop_resident_pages(self) -> bool:
        """Let the mapping's pages leave the process (their data stays in the file); False where that failed."""
        madvise = _libc_madvise()
        if madvise is None:
            return False
        return madvise(self.storage.data_ptr(), self.nbytes, _MADV_DONTNEED) == 0


def disk_directory(path: str | os.PathLike | None, *, recheck: bool = False) -> Path | None:
    """`path` (made if missing) when file-backed tensors can live there: Linux, writable, not a memory file
    system; else None (the reason logged at debug level). Checked once per folder (the manager and every
    UNet load ask): the answer is remembered, and checked again when a folder found usable has gone since
    (deleted: it is made again) or with `recheck=True` (a refused folder that may have been fixed)."""
    if path is None or not sys.platform.startswith("linux"):
        return None
    key = Path(path).absolute()
    with _DIRECTORIES_LOCK:
        if not recheck and key in _DIRECTORIES:
            known = _DIRECTORIES[key]
            if known is None or known.is_dir():
                return known
        _DIRECTORIES[key] = _usable_directory(Path(path))
        return _DIRECTORIES[key]


def _usable_directory(directory: Path) -> Path | None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        log.debug("file-backed weights: cannot use %s: %s", directory, error)
        return None
    kind = filesystem_type(directory)
    if kind in MEMORY_FILESYSTEMS:
        log.debug("file-backed weights: %s is in memory (%s)", directory, kind)
        return None
    if not os.access(directory, os.W_OK):
        log.debug("file-backed weights: %s is not writable", directory)
        return None
    return directory


def filesystem_type(path: Path, mounts_file: str = "/proc/self/mounts") -> str | None:
    """The file system type of the mount holding `path` (the longest matching mount point), None if unknown."""
    try:
        lines = Path(mounts_file).read_text().splitlines()
    except OSError:
        return None
    target, best, kind = str(Path(path).resolve()), -1, None
    for line in lines:
        fields = line.split()
        if len(fields) < 3:
            continue
        point = fields[1].replace("\\040", " ").replace("\\011", "\t").replace("\\134", "\\")
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and len(point) > best:
            best, kind = len(point), fields[2]
    return kind


def to_file_backed(tensor: torch.Tensor, directory: Path) -> tuple[torch.Tensor, FileMapping] | None:
    """A copy of CPU `tensor` (same shape, strides and dtype) living in a new unnamed file in `directory`, and
    its mapping with the pages already dropped; None (nothing changed) when it cannot or should not be."""
    return _file_copy(tensor, directory) if tensor.device.type == "cpu" else None


def _file_copy(tensor: torch.Tensor, directory: Path) -> tuple[torch.Tensor, FileMapping] | None:
    """`to_file_backed` from any device: a device tensor is copied straight into the file's mapping."""
    nbytes = tensor.numel() * tensor.element_size()
    dense = tensor.is_contiguous() or (tensor.dim() == 4 and tensor.is_contiguous(memory_format=torch.channels_last))
    if (tensor.layout != torch.strided or not dense or nbytes < MIN_BYTES
            or tensor.is_inference() or _libc_madvise() is None):
        return None
    if not _leaves_room(directory, nbytes):
        return None
    fd = _unnamed_file(directory)
    if fd is None:
        return None
    try:
        os.posix_fallocate(fd, 0, nbytes)  # blocks reserved now: a full disk fails here, not as a SIGBUS later
        flat = torch.from_file(f"/proc/self/fd/{fd}", shared=True, size=tensor.numel(), dtype=tensor.dtype)
    except (OSError, RuntimeError) as error:
        log.debug("file-backed weights: %d bytes in %s refused: %s", nbytes, directory, error)
        return None
    finally:
        os.close(fd)  # the mapping keeps the file
    mapped = flat.as_strided(tensor.shape, tensor.stride())
    with torch.no_grad():
        mapped.copy_(tensor)
    mapping = FileMapping(storage=mapped.untyped_storage(), nbytes=nbytes)
    mapping.drop_resident_pages()
    _MAPPINGS[mapping.storage.data_ptr()] = mapping
    return mapped, mapping


def mapping_of(tensor: torch.Tensor) -> FileMapping | None:
    """The mapping made here that `tensor`'s memory is, if it is one (and someone still holds it)."""
    if tensor.device.type != "cpu" or tensor.layout != torch.strided:
        return None
    mapping = _MAPPINGS.get(tensor.untyped_storage().data_ptr())
    return mapping if mapping is not None and mapping.holds(tensor) else None


def _module_tensors(module: nn.Module):
    """Every parameter and buffer of `module`, each once (a tied weight belongs to two submodules)."""
    seen: set[int] = set()
    for owner in module.modules():
        for table in (owner._parameters, owner._buffers):
            for tensor in table.values():
                if tensor is not None and id(tensor) not in seen:
                    seen.add(id(tensor))
                    yield tensor


def _still_used(held: list[FileMapping], module: nn.Module) -> list[FileMapping]:
    """The mappings of `held` that some tensor of `module` still uses."""
    addresses = {t.untyped_storage().data_ptr() for t in _module_tensors(module)
                 if t.device.type == "cpu" and t.layout == torch.strided}
    return [m for m in held if m.storage.data_ptr() in addresses]


def move_module_to_files(module: nn.Module, directory: Path) -> int:
    """Move every CPU parameter and buffer of `module` that can be (see `to_file_backed`) into files in
    `directory`, with their pages dropped (those already in files too: they may have been read back in);
    returns the bytes of `module` now in files. The tensors stay the module's own (`.data` swapped), so
    the module runs as before, reading them back from the page cache or the disk."""
    held = _still_used(_HOLDERS.get(module, []), module)
    total = 0
    for tensor in _module_tensors(module):
        mapping = mapping_of(tensor)
        if mapping is None:
            moved = to_file_backed(tensor.detach(), directory)
            if moved is None:
                continue
            tensor.data, mapping = moved
            held.append(mapping)
        else:
            mapping.drop_resident_pages()
        total += mapping.nbytes
    _HOLDERS[module] = held
    return total


def offload_module_to_files(module: nn.Module, directory: Path, fallback: torch.device | str = "cpu") -> int:
    """Move every parameter and buffer of `module`, wherever it is (a GPU), into files in `directory`, one
    tensor at a time: each is copied straight into its file's mapping and its pages dropped, so host memory
    never holds more than about one tensor of it (a whole-model `.to("cpu")` holds all of it). A tensor that
    cannot be file-backed (small, or the disk's reserve refused) goes to `fallback` (the CPU) on its own.
    Returns the bytes now in files. All or nothing: if a copy raises (the CPU has no memory for a small
    tensor), every tensor is put back as it was (their device memory is only let go of at the end) and the
    error propagates."""
    fallback = torch.device(fallback)
    held = _still_used(_HOLDERS.get(module, []), module)
    swapped: list[tuple[torch.Tensor, torch.Tensor]] = []  # (tensor, its previous data)
    total = 0
    try:
        for tensor in _module_tensors(module):
            mapping = mapping_of(tensor)
            if mapping is not None:  # already in a file (on the CPU)
                mapping.drop_resident_pages()
                total += mapping.nbytes
                continue
            moved = _file_copy(tensor.detach(), directory)
            previous = tensor.data
            if moved is not None:
                tensor.data, mapping = moved
                held.append(mapping)
                total += mapping.nbytes
            elif tensor.device != fallback:
                tensor.data = tensor.data.to(fallback)
            else:
                continue
            swapped.append((tensor, previous))
    except BaseException:
        for tensor, previous in reversed(swapped):
            tensor.data = previous
        raise
    _HOLDERS[module] = held
    return total


def forget_unused_files(module: nn.Module) -> None:
    """Let go of `module`'s files that none of its tensors uses any more (it moved to another device or
    dtype), so their disk space and cache are freed."""
    held = _HOLDERS.get(module)
    if held:
        _HOLDERS[module] = _still_used(held, module)


def host_memory_bytes(module: nn.Module) -> int:
    """Bytes of `module`'s CPU parameters and buffers held in memory (not in files made here)."""
    return sum(t.numel() * t.element_size() for t in _module_tensors(module)
               if t.device.type == "cpu" and mapping_of(t) is None)


def file_backed_module_bytes(module: nn.Module) -> int:
    """Bytes of `module`'s parameters and buffers that live in files made here."""
    return sum(t.numel() * t.element_size() for t in _module_tensors(module) if mapping_of(t) is not None)


def _leaves_room(directory: Path, nbytes: int) -> bool:
    """Whether `nbytes` more in `directory` leave its file system the reserve (RESERVE_BYTES, RESERVE_FRACTION)."""
    try:
        stats = os.statvfs(directory)
    except OSError:
        return False
    free, total = stats.f_bavail * stats.f_frsize, stats.f_blocks * stats.f_frsize
    reserve = max(RESERVE_BYTES, int(total * RESERVE_FRACTION))
    if free - nbytes < reserve:
        log.debug("file-backed weights: %d bytes would leave %s under its %d byte reserve", nbytes, directory, reserve)
        return False
    return True


def _unnamed_file(directory: Path) -> int | None:
    flag = getattr(os, "O_TMPFILE", 0)
    if flag:
        try:
            return os.open(directory, flag | os.O_RDWR, 0o600)
        except OSError:
            pass  # a file system without O_TMPFILE: a named file, removed at once
    try:
        fd, name = tempfile.mkstemp(prefix="weights-", dir=directory)
    except OSError as error:
        log.debug("file-backed weights: no file in %s: %s", directory, error)
        return None
    os.unlink(name)
    return fd


def _libc_madvise():
    return libc_function("madvise", (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int))


__all__ = ["FileMapping", "MIN_BYTES", "disk_directory", "file_backed_module_bytes", "filesystem_type",
           "forget_unused_files", "host_memory_bytes", "mapping_of", "move_module_to_files", "offload_module_to_files",
           "to_file_backed"]
