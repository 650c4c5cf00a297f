"""Streaming safetensors writer: the header is computed from shapes alone, then tensors are
produced and written one at a time, so a multi-gigabyte file never needs two copies (or even
one whole copy) of its weights in memory. The file appears atomically (temp file + rename).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

_DTYPE_NAMES = {
    torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64",
    torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8",
    torch.bool: "BOOL",
}


@dataclass(frozen=True)
class TensorSpec:
    """Name, shape and dtype of one tensor to be written."""

    key: str
    shape: tuple[int, ...]
    dtype: torch.dtype

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * torch.empty((), dtype=self.dtype).element_size()


def write_safetensors_streaming(path: str | Path, specs: Sequence[TensorSpec],
                                produce: Callable[[TensorSpec], torch.Tensor],
                                metadata: dict[str, str] | None = None) -> int:
    """Write `specs` in order, asking `produce(spec)` for each tensor when its turn comes.

    Returns the file size. Raises ValueError if a produced tensor does not match its spec.
    """
    path = Path(path)
    header: dict = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    offset = 0
    for spec in specs:
        if spec.key in header:
            raise ValueError(f"duplicate tensor name {spec.key!r}")
        header[spec.key] = {"dtype": _DTYPE_NAMES[spec.dtype], "shape": list(spec.shape),
                            "data_offsets": [offset, offset + spec.nbytes]}
        offset += spec.nbytes
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * (-len(raw) % 8)
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(path.name + ".partial")
    try:
        with temp.open("wb") as handle:
            handle.write(len(raw).to_bytes(8, "little"))
            handle.write(raw)
            for spec in specs:
                tensor = produce(spec)
                if tuple(tensor.shape) != tuple(spec.shape) or tensor.dtype != spec.dtype:
                    raise ValueError(
                        f"{spec.key}: produced {tuple(tensor.shape)} {tensor.dtype}, expected {spec.shape} {spec.dtype}"
                    )
                data = tensor.detach().cpu().contiguous().reshape(-1)
                if data.numel():
                    handle.write(memoryview(data.view(torch.uint8).numpy()))
        os.replace(temp, path)
    finally:
        if temp.exists():
            temp.unlink()
    return path.stat().st_size
