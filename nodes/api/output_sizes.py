"""How many bytes a node output holds, for the output cache's byte bound (no torch import)."""

from __future__ import annotations

import sys
from typing import Any


def tensor_sizeof(obj: Any) -> int:
    """Approximate bytes held by a node output, for the cache's byte bound.

    Duck-typed, no torch import: `nbytes`, or `element_size() * numel()`, or an object's
    `get_ram_usage()`, or a model handle's weights (see `_model_bytes`); tuples, lists and
    dicts are summed recursively (each object counted once); anything else counts its
    sys.getsizeof.
    """
    return _sizeof(obj, set())


def _sizeof(obj: Any, seen: set[int]) -> int:
    if id(obj) in seen:
        return 0
    seen.add(id(obj))
    if isinstance(obj, (list, tuple, set, frozenset)):
        return sys.getsizeof(obj) + sum(_sizeof(item, seen) for item in obj)
    if isinstance(obj, dict):
        return sys.getsizeof(obj) + sum(_sizeof(k, seen) + _sizeof(v, seen) for k, v in obj.items())
    for measure in (_nbytes, _element_bytes, _ram_usage, _model_bytes):
        size = measure(obj)
        if size is not None:
            return size
    try:
        return sys.getsizeof(obj)
    except TypeError:
        return 0


def _nbytes(obj: Any) -> int | None:
    value = getattr(obj, "nbytes", None)
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else None


def _element_bytes(obj: Any) -> int | None:
    element_size, numel = getattr(obj, "element_size", None), getattr(obj, "numel", None)
    if callable(element_size) and callable(numel):
        try:
            return int(element_size()) * int(numel())
        except Exception:
            return None
    return None


def _ram_usage(obj: Any) -> int | None:
    usage = getattr(obj, "get_ram_usage", None)
    if callable(usage):
        try:
            return int(usage())
        except Exception:
            return None
    return None


def _module_bytes(module: Any) -> int | None:
    parameters = getattr(module, "parameters", None)
    if not callable(parameters):
        return None
    try:
        return sum(int(p.numel()) * int(p.element_size()) for p in parameters())
    except Exception:
        return None


def _model_bytes(obj: Any) -> int | None:
    """Weights behind a MODEL / CLIP / VAE handle: `model_size_bytes()` (a ModelPatcher), the sum
    over `patchers()` (a CLIP handle), or the parameters of its `model` module (a VAE handle).
    Clones that share weights are each counted in full: an over-estimate, never an under-one."""
    size = getattr(obj, "model_size_bytes", None)
    if callable(size):
        try:
            return int(size())
        except Exception:
            return None
    patchers = getattr(obj, "patchers", None)
    if callable(patchers):
        try:
            return sum(_model_bytes(p) or 0 for p in patchers())
        except Exception:
            return None
    model = getattr(obj, "model", None)
    return _module_bytes(model) if model is not None else None


