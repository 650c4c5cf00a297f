"""Textual-inversion embeddings referenced in prompts as `embedding:name`.

Files live in the embeddings folders (`models/embeddings`, searched recursively, by name with
or without extension: `.safetensors`, `.pt`, `.bin`). `.safetensors` files are read with
safetensors; `.pt`/`.bin` only with `torch.load(weights_only=True)`, so a pickle that would
run code is refused. The vectors are found under the keys the common trainers write:
`string_to_param` (A1111), `emb_params`, `clip_l`/`clip_g` (SDXL), else the first tensor
whose width fits the encoder.

A missing or unreadable embedding is not fatal: the lookup returns None and records a
warning naming the file and the reason (the prompt is encoded without it, as ComfyUI does).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from pathlib import Path

import torch

EXTENSIONS = (".safetensors", ".pt", ".bin")
log = logging.getLogger(__name__)


class EmbeddingLibrary:
    """Finds and loads embeddings by name from a list of folders, caching loaded files."""

    def __init__(self, directories: Iterable[str | os.PathLike] = ()):
        self.directories = [Path(d).resolve() for d in directories]
        self.warnings: list[str] = []
        self._cache: dict[tuple[str, float], dict[str, torch.Tensor] | None] = {}

    def find_file(self, name: str) -> Path | None:
        """The file for `name` inside one of the folders (never outside them), or None."""
        if not name or "\0" in name:
            return None
        for root in self.directories:
            for folder in [root, *sorted(p for p in root.rglob("*") if p.is_dir())] if root.is_dir() else []:
                candidate = (folder / name).resolve()
                if not _is_inside(candidate, root):
                    continue
                if candidate.is_file():
                    return candidate
                for ext in EXTENSIONS:
                    with_ext = candidate.with_name(candidate.name + ext)
                    if with_ext.is_file():
                        return with_ext
        return None

    def vectors(self, name: str, width: int, preferred_key: str | None = None) -> torch.Tensor | None:
        """The embedding's rows `[n, width]` (float32), or None (with a warning) if absent or unusable."""
        path = self.find_file(name)
        if path is None:
            return None
        tensors = self._load(path)
        if tensors is None:
            return None
        rows = select_vectors(tensors, width, preferred_key)
        if rows is None:
            self._warn(f"embedding {path.name}: no tensor of width {width} (keys: {sorted(tensors)[:6]})")
        return rows

    def _load(self, path: Path) -> dict[str, torch.Tensor] | None:
        key = (str(path), path.stat().st_mtime)
        if key not in self._cache:
            try:
                self._cache[key] = read_embedding_file(path)
            except Exception as exc:  # noqa: BLE001 - any failure is reported, never fatal
                self._warn(f"embedding {path.name} could not be read: {exc}")
                self._cache[key] = None
        return self._cache[key]

    def _warn(self, message: str) -> None:
        log.warning(message)
        self.warnings.append(message)


def _is_inside(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
    except ValueError:
        return False
    return True


def read_embedding_file(path: Path) -> dict[str, torch.Tensor]:
    """All tensors of an embedding file, flattened to `name -> tensor` (nested dicts joined by '.')."""
    if path.suffix.lower() == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path), device="cpu")
    try:
        data = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ValueError(f"not a safe tensor file (refused by torch.load weights_only): {exc}") from exc
    flat: dict[str, torch.Tensor] = {}
    _flatten(data, "", flat)
    if not flat:
        raise ValueError("file holds no tensors")
    return flat


def _flatten(value, prefix: str, out: dict[str, torch.Tensor]) -> None:
    if isinstance(value, torch.Tensor):
        out[prefix or "tensor"] = value
    elif isinstance(value, dict):
        for key, item in value.items():
            _flatten(item, f"{prefix}.{key}" if prefix else str(key), out)
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _flatten(item, f"{prefix}.{index}" if prefix else str(index), out)


def select_vectors(tensors: dict[str, torch.Tensor], width: int, preferred_key: str | None = None) -> torch.Tensor | None:
    """Pick the embedding rows for an encoder of `width` from a file's tensors."""
    order: list[str] = []
    if preferred_key and preferred_key in tensors:
        order.append(preferred_key)
    order += [k for k in tensors if k.startswith("string_to_param.")]
    order += [k for k in ("emb_params",) if k in tensors]
    order += [k for k in tensors if k not in order]
    for key in order:
        tensor = tensors[key]
        if tensor.is_floating_point() and tensor.ndim >= 1 and tensor.shape[-1] == width:
            return tensor.reshape(-1, width).float()
    return None
