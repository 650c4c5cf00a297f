"""Safe, lazy reading of model files.

`.safetensors` / `.sft` files are validated from their header alone (sizes, offsets, file
length) before anything is allocated, then opened memory-mapped through
`safetensors.safe_open`: tensors are views of the mapped file, read only when accessed.
Every other extension goes through `torch.load(weights_only=True)`, which refuses any
pickle that would construct arbitrary Python objects (so no code in the file ever runs).

Errors are `CheckpointError` and always name the file.
"""

from __future__ import annotations

import json
import math
import mmap
import pickle
import struct
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import torch

SAFETENSORS_SUFFIXES = frozenset({".safetensors", ".sft"})
# The safetensors format caps the JSON header at 100 MB; anything larger is not a real file.
MAX_HEADER_BYTES = 100 * 1024 * 1024

_DTYPE_SIZES = {
    "BOOL": 1, "U8": 1, "I8": 1, "F8_E4M3": 1, "F8_E5M2": 1,
    "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
    "I32": 4, "U32": 4, "F32": 4,
    "I64": 8, "U64": 8, "F64": 8,
}


class CheckpointError(ValueError):
    """A model file could not be read; the message names the file and what is wrong."""


class _LightningCheckpointStub:
    """Stands in for pytorch_lightning's ModelCheckpoint callback found in old SD `.ckpt` files.

    Allowlisted (as ComfyUI does) so such files load with weights_only; it never runs code.
    """


_TORCH_LOAD_SAFE_GLOBALS = [
    (_LightningCheckpointStub, "pytorch_lightning.callbacks.model_checkpoint.ModelCheckpoint"),
]


def _fail(path: Path, problem: str) -> CheckpointError:
    return CheckpointError(f"{path}: {problem}")


def read_safetensors_header(path: str | Path) -> dict[str, Any]:
    """Read and validate a safetensors header without touching the tensor data.

    Returns the header dict (tensor name -> {dtype, shape, data_offsets}, plus an optional
    "__metadata__"). Raises CheckpointError for a missing file, a header that is not valid
    JSON, absurd or inconsistent sizes, or data that runs past the end of the file.
    """
    path = Path(path)
    if not path.is_file():
        raise _fail(path, "file not found")
    file_size = path.stat().st_size
    if file_size < 8:
        raise _fail(path, f"corrupt or not a safetensors file (only {file_size} bytes)")
    with path.open("rb") as handle:
        (header_len,) = struct.unpack("<Q", handle.read(8))
        if header_len > MAX_HEADER_BYTES:
            raise _fail(path, f"corrupt or not a safetensors file (header claims {header_len} bytes)")
        if header_len > file_size - 8:
            raise _fail(
                path,
                f"incomplete/truncated file: header claims {header_len} bytes but the file has {file_size - 8} after the length",
            )
        raw = handle.read(header_len)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _fail(path, f"corrupt or not a safetensors file (header is not JSON: {exc})") from None
    if not isinstance(header, dict):
        raise _fail(path, "corrupt or not a safetensors file (header is not a JSON object)")
    data_size = file_size - 8 - header_len
    data_end = 0
    for name, entry in header.items():
        if name == "__metadata__":
            if not isinstance(entry, dict):
                raise _fail(path, "corrupt safetensors header: __metadata__ is not an object")
            continue
        data_end = max(data_end, _validate_entry(path, name, entry))
    if data_end > data_size:
        raise _fail(
            path,
            f"incomplete/truncated file: tensors need {data_end} bytes of data but only {data_size} are present",
        )
    return header


def _validate_entry(path: Path, name: str, entry: Any) -> int:
    """Check one tensor entry; return the end offset of its data."""
    if not isinstance(entry, dict):
        raise _fail(path, f"corrupt safetensors header: entry {name!r} is not an object")
    dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
    if dtype not in _DTYPE_SIZES:
        raise _fail(path, f"corrupt safetensors header: tensor {name!r} has unknown dtype {dtype!r}")
    if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
        raise _fail(path, f"corrupt safetensors header: tensor {name!r} has invalid shape {shape!r}")
    if (
        not isinstance(offsets, list)
        or len(offsets) != 2
        or not all(isinstance(o, int) and o >= 0 for o in offsets)
        or offsets[0] > offsets[1]
    ):
        raise _fail(path, f"corrupt safetensors header: tensor {name!r} has invalid data_offsets {offsets!r}")
    nbytes = math.prod(shape) * _DTYPE_SIZES[dtype]
    if nbytes != offsets[1] - offsets[0]:
        raise _fail(
            path,
            f"corrupt safetensors header: tensor {name!r} of shape {shape} {dtype} needs {nbytes} bytes "
            f"but its offsets span {offsets[1] - offsets[0]}",
        )
    return offsets[1]


_TORCH_DTYPES = {
    "BOOL": torch.bool, "U8": torch.uint8, "I8": torch.int8, "I16": torch.int16, "I32": torch.int32,
    "I64": torch.int64, "F16": torch.float16, "BF16": torch.bfloat16, "F32": torch.float32, "F64": torch.float64,
    "U16": getattr(torch, "uint16", None), "U32": getattr(torch, "uint32", None), "U64": getattr(torch, "uint64", None),
    "F8_E4M3": getattr(torch, "float8_e4m3fn", None), "F8_E5M2": getattr(torch, "float8_e5m2", None),
}


class SafetensorsStateDict(Mapping):
    """A read-only, lazy mapping over a memory-mapped safetensors file.

    The file is mapped copy-on-write and each tensor is a zero-copy view of its bytes
    (`torch.frombuffer`): nothing is read until used, and a model that adopts these tensors
    (`load_state_dict(assign=True)`) shares the page cache instead of holding a copy.
    `shape(key)` and `dtype_name(key)` answer from the header without touching data.
    """

    def __init__(self, path: str | Path, header: dict[str, Any] | None = None):
        self.path = Path(path)
        self.header = header if header is not None else read_safetensors_header(self.path)
        self.metadata: dict[str, str] = dict(self.header.get("__metadata__") or {})
        self._keys = [k for k in self.header if k != "__metadata__"]
        with self.path.open("rb") as handle:
            (header_len,) = struct.unpack("<Q", handle.read(8))
            self._data_start = 8 + header_len
            try:
                self._map = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_COPY)
            except (OSError, ValueError) as exc:
                raise _fail(self.path, f"cannot memory-map the file ({exc})") from None

    def __getitem__(self, key: str) -> torch.Tensor:
        if key not in self.header or key == "__metadata__":
            raise KeyError(key)
        entry = self.header[key]
        dtype = _TORCH_DTYPES.get(entry["dtype"])
        if dtype is None:
            raise _fail(self.path, f"tensor {key!r} has dtype {entry['dtype']} which this torch cannot represent")
        shape = tuple(entry["shape"])
        count = math.prod(shape)
        if count == 0:
            return torch.empty(shape, dtype=dtype)
        begin = self._data_start + entry["data_offsets"][0]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # frombuffer warns about buffers it cannot mark read-only
            flat = torch.frombuffer(self._map, dtype=dtype, count=count, offset=begin)
        return flat.reshape(shape)

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, key: object) -> bool:
        return key in self.header and key != "__metadata__"

    def shape(self, key: str) -> tuple[int, ...]:
        return tuple(self.header[key]["shape"])

    def dtype_name(self, key: str) -> str:
        return self.header[key]["dtype"]

    def release(self, key: str) -> None:
        """Drop the resident pages lying wholly inside `key`'s bytes (after a converted copy was made).

        Safe for every other tensor: partial pages shared with neighbours are kept, and dropped
        pages of this read-only use are simply read again from the file if ever touched.
        """
        if not hasattr(mmap, "MADV_DONTNEED") or key not in self:
            return
        begin, end = (self._data_start + o for o in self.header[key]["data_offsets"])
        page = mmap.PAGESIZE
        start, stop = -(-begin // page) * page, end // page * page
        if stop > start:
            self._map.madvise(mmap.MADV_DONTNEED, start, stop - start)


def load_state_dict(path: str | Path) -> Mapping[str, torch.Tensor]:
    """Open a model file as a name -> tensor mapping.

    safetensors: a lazy memory-mapped `SafetensorsStateDict`. Other files: torch.load with
    weights_only=True (code-carrying pickles are refused), unwrapping a top-level
    `state_dict` (or a single nested dict) as ComfyUI does.
    """
    path = Path(path)
    if not path.exists():
        raise _fail(path, "file not found")
    if path.is_dir():
        raise _fail(path, "is a folder, not a model file")
    if path.suffix.lower() in SAFETENSORS_SUFFIXES:
        return SafetensorsStateDict(path)
    return _load_torch_file(path)


def _load_torch_file(path: Path) -> dict[str, torch.Tensor]:
    if path.stat().st_size == 0:
        raise _fail(path, "corrupt or not a checkpoint (empty file)")
    with torch.serialization.safe_globals(_TORCH_LOAD_SAFE_GLOBALS):
        try:
            loaded = _torch_load_weights_only(path, use_mmap=True)
        except RuntimeError:
            # mmap works only for the zip format (legacy files, or a damaged archive): retry plainly.
            try:
                loaded = _torch_load_weights_only(path, use_mmap=False)
            except (RuntimeError, EOFError, ValueError, OSError, struct.error) as exc:
                raise _fail(path, f"corrupt, truncated or not a checkpoint ({_first_line(exc)})") from None
        except (EOFError, ValueError, OSError, struct.error) as exc:
            raise _fail(path, f"corrupt, truncated or not a checkpoint ({_first_line(exc)})") from None
    return _unwrap_state_dict(path, loaded)


def _torch_load_weights_only(path: Path, use_mmap: bool) -> Any:
    try:
        return torch.load(path, map_location="cpu", weights_only=True, mmap=use_mmap)
    except pickle.UnpicklingError as exc:
        if "weights only" in str(exc).lower() or "unsupported" in str(exc).lower():
            raise _fail(
                path,
                "refused to load: the pickle would create Python objects other than tensors "
                "(possibly code). Convert it to .safetensors with a tool you trust. "
                f"Detail: {_first_line(exc)}",
            ) from None
        raise _fail(path, f"corrupt or not a checkpoint ({_first_line(exc)})") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _unwrap_state_dict(path: Path, loaded: Any) -> dict[str, torch.Tensor]:
    if isinstance(loaded, Mapping) and isinstance(loaded.get("state_dict"), Mapping):
        loaded = loaded["state_dict"]
    elif isinstance(loaded, Mapping) and len(loaded) == 1:
        (only,) = loaded.values()
        if isinstance(only, Mapping):
            loaded = only
    if not isinstance(loaded, Mapping):
        raise _fail(path, f"not a model file: it holds a {type(loaded).__name__}, not a dictionary of tensors")
    tensors = {str(k): v for k, v in loaded.items() if isinstance(v, torch.Tensor)}
    if not tensors:  # e.g. A1111 embeddings: {"string_to_param": {"*": tensor}, ...} -> "string_to_param.*"
        tensors = {
            f"{outer}.{inner}": value
            for outer, nested in loaded.items() if isinstance(nested, Mapping)
            for inner, value in nested.items() if isinstance(value, torch.Tensor)
        }
    if not tensors:
        raise _fail(path, "not a model file: it contains no tensors")
    return tensors
