"""The output cache every command builds: bounded by count and bytes, and sizing model handles."""

from __future__ import annotations

import argparse

import pytest
import torch

from app.engine import add_engine_arguments, make_output_cache
from nodes.api.output_sizes import tensor_sizeof


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_engine_arguments(parser)
    return parser.parse_args(list(argv))


def test_cache_is_bounded_by_flags():
    cache = make_output_cache(parse("--cache-lru", "3", "--cache-ram", "0.5"))
    assert cache.policy.max_entries == 3
    assert cache.policy.max_bytes == 512 * 1024**2


def test_default_cache_is_bounded_too():
    cache = make_output_cache(parse())
    assert cache.policy.max_entries == 256
    assert 0 < cache.policy.max_bytes < float("inf")


@pytest.mark.parametrize("flag, value", [("--cache-lru", "0"), ("--cache-lru", "x"), ("--cache-ram", "-1"),
                                         ("--cache-ram", "inf"), ("--cache-ram", "nan")])
def test_bad_cache_flags_are_argument_errors(flag, value, capsys):
    with pytest.raises(SystemExit) as exc:
        parse(flag, value)
    assert exc.value.code == 2
    assert flag in capsys.readouterr().err


class _Patcher:
    def __init__(self, module):
        self.model = module

    def model_size_bytes(self):
        return sum(p.numel() * p.element_size() for p in self.model.parameters())


class _Clip:
    def __init__(self, *patchers):
        self._patchers = patchers

    def patchers(self):
        return list(self._patchers)


class _Vae:
    def __init__(self, module):
        self.model = module


def test_model_handles_are_sized_by_their_weights():
    linear = torch.nn.Linear(100, 100)  # 10,100 float32 parameters
    weights = 10_100 * 4
    assert tensor_sizeof(_Patcher(linear)) == weights
    assert tensor_sizeof(_Clip(_Patcher(linear), _Patcher(torch.nn.Linear(10, 10)))) == weights + 110 * 4
    assert tensor_sizeof(_Vae(linear)) == weights
    # a loader's outputs tuple: everything counted, the shared module once per handle
    assert tensor_sizeof((_Patcher(linear), _Vae(linear))) >= 2 * weights


def test_lru_evicts_big_outputs_first_by_bytes():
    cache = make_output_cache(parse("--cache-lru", "100", "--cache-ram", str(3 * 4 * 1024**2 / 1024**3)))
    from graph.cache import CacheEntry

    for key in range(5):  # 4 MiB each against a 12 MiB budget
        cache.put(key, CacheEntry(outputs=([torch.zeros(1024, 1024)],), ui=None))
    assert cache.get(0) is None and cache.get(1) is None
    assert cache.get(4) is not None
