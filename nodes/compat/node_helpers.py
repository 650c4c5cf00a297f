"""ComfyUI's `node_helpers` for packs: conditioning_set_values, pillow, hasher and small helpers.

Re-implemented from what ComfyUI's functions do: conditioning_set_values returns a new CONDITIONING
whose dicts are copies with `values` set (or, with append=True, each value appended to the list
already there), never touching the input; pillow retries an image operation with PIL's truncated
images allowed; hasher is the hash constructor ComfyUI uses for file fingerprints (sha256).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["conditioning_set_values", "hasher", "image_alpha_fix", "is_link", "pillow", "string_to_torch_dtype"]


def conditioning_set_values(conditioning: list, values: Mapping[str, Any] | None = None, append: bool = False) -> list:
    """A copy of `conditioning` with every entry's dict updated by `values` (lists extended when append)."""
    out = []
    for cond, options in conditioning:
        updated = dict(options)
        for key, value in (values or {}).items():
            if append:
                updated[key] = [*updated.get(key, []), value]
            else:
                updated[key] = value
        out.append([cond, updated])
    return out


def pillow(fn: Callable, arg: Any) -> Any:
    """`fn(arg)`, retried with PIL's LOAD_TRUNCATED_IMAGES when PIL refuses a truncated file."""
    from PIL import ImageFile, UnidentifiedImageError

    previous = ImageFile.LOAD_TRUNCATED_IMAGES
    try:
        return fn(arg)
    except (OSError, UnidentifiedImageError, ValueError):
        ImageFile.LOAD_TRUNCATED_IMAGES = True
        try:
            return fn(arg)
        finally:
            ImageFile.LOAD_TRUNCATED_IMAGES = previous


def hasher() -> Callable:
    """The hash constructor for file fingerprints (ComfyUI's default, sha256)."""
    return hashlib.sha256


def string_to_torch_dtype(string: str) -> Any:
    """"fp32" / "fp16" / "bf16" -> the torch dtype (a clear error for anything else)."""
    import torch

    dtypes = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
    if string not in dtypes:
        raise ValueError(f"node_helpers.string_to_torch_dtype: unknown dtype {string!r}; expected fp32, fp16 or bf16")
    return dtypes[string]


def image_alpha_fix(destination: Any, source: Any) -> tuple:
    """Both images with the same channel count (an alpha channel of ones added where one is missing)."""
    import torch

    if destination.shape[-1] < source.shape[-1]:
        source = source[..., :destination.shape[-1]]
    elif destination.shape[-1] > source.shape[-1]:
        pad = torch.ones((*source.shape[:-1], destination.shape[-1] - source.shape[-1]), dtype=source.dtype,
                         device=source.device)
        source = torch.cat([source, pad], dim=-1)
    return destination, source


def is_link(value: Any) -> bool:
    """True for a prompt input that is a link ([node id, output index])."""
    return isinstance(value, list) and len(value) == 2 and isinstance(value[0], str) and isinstance(value[1], int)
