"""Helpers for tests of file-backed tensors (diffusion/memory/file_backed.py)."""

from __future__ import annotations

from pathlib import Path

import torch


def resident_kib(tensor: torch.Tensor) -> int:
    """Resident kB of the mapping that starts at `tensor`'s storage (from /proc/self/smaps)."""
    start = tensor.untyped_storage().data_ptr()
    inside = False
    for line in Path("/proc/self/smaps").read_text().splitlines():
        head = line.split()[0]
        if "-" in head and not head.endswith(":"):
            low = int(head.split("-")[0], 16)
            inside = low == start
        elif inside and line.startswith("Rss:"):
            return int(line.split()[1])
    raise AssertionError("no mapping starts at the tensor's storage")
