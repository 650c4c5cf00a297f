"""The one libc lookup behind `malloc_trim` (devices.py) and `madvise` (file_backed.py)."""

from __future__ import annotations

import ctypes
import sys

import pytest
import torch

import diffusion.memory.file_backed as file_backed
from diffusion.memory import libc
from diffusion.memory.libc import libc_function


@pytest.fixture(autouse=True)
def _fresh_lookups():
    libc_function.cache_clear()
    yield
    libc_function.cache_clear()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="libc lookups are Linux only")
def test_a_function_is_found_once_with_its_signature():
    getpid = libc_function("getpid", (), ctypes.c_int)
    assert getpid is not None and getpid() > 0
    assert libc_function("getpid", (), ctypes.c_int) is getpid  # looked up once
    madvise = libc_function("madvise", (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int))
    assert madvise.argtypes == [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int] and madvise.restype is ctypes.c_int


def test_a_missing_function_or_another_platform_is_none(monkeypatch):
    if sys.platform.startswith("linux"):
        assert libc_function("no_such_function_in_any_libc") is None  # e.g. malloc_trim on musl
    monkeypatch.setattr(libc.sys, "platform", "darwin")
    libc_function.cache_clear()
    assert libc_function("getpid") is None


def test_without_madvise_tensors_stay_in_memory(monkeypatch, tmp_path):
    monkeypatch.setattr(libc.sys, "platform", "win32")  # no libc function: file-backed tensors are refused
    assert file_backed._libc_madvise() is None
    assert file_backed.to_file_backed(torch.zeros(1 << 19), tmp_path) is None
