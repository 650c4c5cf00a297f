"""Helpers for the model-free node tests: calling a declared node, fake conditionings, test images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from graph.schema import NodeOutput
from nodes.api.declare import DeclaredNodeType


def execute(node_cls, ctx, **inputs) -> NodeOutput:
    """Runs a declared node class through the adapter the executor uses."""
    return DeclaredNodeType(node_cls, getattr(ctx, "runtime", None)).execute(ctx, inputs)


def values(node_cls, ctx, **inputs) -> tuple:
    """The output values of one node call."""
    return execute(node_cls, ctx, **inputs).values


def schema(node_cls, runtime=None):
    return DeclaredNodeType(node_cls, runtime).schema()


def conditioning(batch: int = 1, tokens: int = 77, dim: int = 768, *, pooled: bool = True, seed: int = 0,
                 **extra) -> list:
    """A CONDITIONING with one random entry: [[tensor [batch, tokens, dim], {"pooled_output", ...}]]."""
    generator = torch.Generator().manual_seed(seed)
    options = dict(extra)
    if pooled:
        options["pooled_output"] = torch.randn(batch, dim, generator=generator)
    return [[torch.randn(batch, tokens, dim, generator=generator), options]]


def snapshot(conditioning_list: list) -> list:
    """A deep copy of a CONDITIONING (tensors cloned, dicts copied) to check inputs are unchanged."""
    return [[tensor.clone(), {k: v.clone() if isinstance(v, torch.Tensor) else v for k, v in options.items()}]
            for tensor, options in conditioning_list]


def same_conditioning(a: list, b: list) -> bool:
    if len(a) != len(b):
        return False
    for (ta, oa), (tb, ob) in zip(a, b, strict=True):
        if not torch.equal(ta, tb) or set(oa) != set(ob):
            return False
        for key in oa:
            va, vb = oa[key], ob[key]
            if isinstance(va, torch.Tensor):
                if not (isinstance(vb, torch.Tensor) and torch.equal(va, vb)):
                    return False
            elif va != vb:
                return False
    return True


def write_image(path: Path, pixels: np.ndarray, mode: str | None = None, **save_options) -> Path:
    """Writes uint8 `pixels` ([H, W] or [H, W, C]) as an image file; returns the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    picture = Image.fromarray(pixels.astype(np.uint8))
    (picture.convert(mode) if mode else picture).save(path, **save_options)
    return path


def gradient(height: int, width: int, channels: int = 3, seed: int = 0) -> np.ndarray:
    """Deterministic random uint8 pixels [H, W, C]."""
    return np.random.default_rng(seed).integers(0, 256, size=(height, width, channels), dtype=np.uint8)
