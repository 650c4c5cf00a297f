"""ResizeImageMaskNode ("Resize Image/Mask", ComfyUI's V3 node in comfy_extras/nodes_post_processing.py).

One node for an IMAGE [B,H,W,C] or a MASK [B,H,W] (the output has the input's type: a match
type), sized by the chosen `resize_type` (a dynamic combo: each choice brings its inputs):

- "scale by multiplier": round(W·m) x round(H·m);
- "scale dimensions": width x height, a 0 side following the aspect ratio (both 0: unchanged),
  optional centre crop to the target's aspect first;
- "scale longer dimension" / "scale shorter dimension": that side to the size, the other
  round(other/that·size) (a square: both to the size);
- "scale width" / "scale height": "scale dimensions" with the other side 0;
- "scale total pixels": both sides times sqrt(int(megapixels·1024²)/(W·H)), rounded;
- "match size": the size of `match` (an IMAGE or MASK), optional centre crop.

Resampling is `scale_method` (diffusion/imaging/resample.py, ComfyUI's common_upscale).
"""

from __future__ import annotations

import math
from typing import Any

from nodes.api.declare import Combo, Float, Int, Node, Out, Socket
from nodes.api.lazy import lazy_import
from nodes.api.v3_inputs import MATCH_TYPE, DynamicCombo, MatchType
from nodes.library.image.transform import MAX_RESOLUTION

torch = lazy_import("torch")
resample = lazy_import("diffusion.imaging.resample")

SCALE_METHODS = ["nearest-exact", "bilinear", "area", "bicubic", "lanczos"]
CROP_METHODS = ["disabled", "center"]
V3_COMBO = {"multiselect": False, "options": ()}  # ComfyUI's V3 combo form (the choices fill "options")


def _size(name: str) -> Int:
    return Int(name, default=512, min=0, max=MAX_RESOLUTION, step=1)


def _crop() -> Combo:
    return Combo("crop", CROP_METHODS, default="center", extra=V3_COMBO)


RESIZE_TYPES = [
    ("scale by multiplier", [Float("multiplier", default=1.0, min=0.01, max=8.0, step=0.01)]),
    ("scale dimensions", [_size("width"), _size("height"), _crop()]),
    ("scale longer dimension", [_size("longer_size")]),
    ("scale shorter dimension", [_size("shorter_size")]),
    ("scale width", [_size("width")]),
    ("scale height", [_size("height")]),
    ("scale total pixels", [Float("megapixels", default=1.0, min=0.01, max=16.0, step=0.01)]),
    ("match size", [Socket("IMAGE,MASK", "match"), _crop()]),
]


def channels_first(value: Any, node: str, name: str) -> tuple[torch.Tensor, bool]:
    """(an IMAGE or MASK as [B, C, H, W], whether it was an IMAGE); a clear error for anything else."""
    if not isinstance(value, torch.Tensor) or value.ndim not in (3, 4) or 0 in value.shape:
        got = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
        raise ValueError(f"{node}: input '{name}' must be an IMAGE [batch, height, width, channels] or a MASK "
                         f"[batch, height, width], got {got}")
    is_image = value.ndim == 4
    return (value.movedim(-1, 1) if is_image else value.unsqueeze(1)), is_image


def target_size(kind: str, width: int, height: int, choice: dict) -> tuple[int, int] | None:
    """(new width, new height) for `kind` from a [.., H, W] of width x height; None: leave it as it is."""
    if kind == "scale by multiplier":
        return round(width * choice["multiplier"]), round(height * choice["multiplier"])
    if kind in ("scale dimensions", "scale width", "scale height"):
        new_w = choice["width"] if kind != "scale height" else 0
        new_h = choice["height"] if kind != "scale width" else 0
        if new_w == 0 and new_h == 0:
            return None
        if new_w == 0:
            new_w = max(1, round(width * new_h / height))
        elif new_h == 0:
            new_h = max(1, round(height * new_w / width))
        return new_w, new_h
    if kind in ("scale longer dimension", "scale shorter dimension"):
        size = choice["longer_size" if kind == "scale longer dimension" else "shorter_size"]
        wide = width > height if kind == "scale longer dimension" else width < height
        tall = height > width if kind == "scale longer dimension" else height < width
        if tall:
            return round(width / height * size), size
        if wide:
            return size, round(height / width * size)
        return size, size
    if kind == "scale total pixels":
        factor = math.sqrt(int(choice["megapixels"] * 1024 * 1024) / (width * height))
        return round(width * factor), round(height * factor)
    raise ValueError(f"unknown resize_type {kind!r}")


class ResizeImageMaskNode(Node):
    node_id = "ResizeImageMaskNode"
    display_name = "Resize Image/Mask"
    category = "transform"
    inputs = [
        MatchType("input", template_id="input_type", allowed_types=("IMAGE", "MASK")),
        DynamicCombo("resize_type", RESIZE_TYPES),
        Combo("scale_method", SCALE_METHODS, default="area", extra=V3_COMBO),
    ]
    outputs = [Out(MATCH_TYPE, "resized")]

    @classmethod
    def run(cls, ctx: Any, *, input: Any, resize_type: dict, scale_method: str) -> tuple:
        samples, is_image = channels_first(input, cls.node_id, "input")
        kind = resize_type.get("resize_type")
        keys = [key for key, _ in RESIZE_TYPES]
        if kind not in keys:
            raise ValueError(f"{cls.node_id}: input 'resize_type': {kind!r} is not one of {', '.join(keys)}")
        crop = resize_type.get("crop", "disabled")
        if kind == "match size":
            reference, _ = channels_first(resize_type.get("match"), cls.node_id, "resize_type.match")
            size = (reference.shape[-1], reference.shape[-2])
        else:
            size = target_size(kind, samples.shape[-1], samples.shape[-2], resize_type)
            if kind != "scale dimensions":
                crop = "disabled"
        if size is None:
            return (input,)
        try:
            resized = resample.resize(samples, size[0], size[1], scale_method, crop)
        except ValueError as exc:
            raise ValueError(f"{cls.node_id}: input 'resize_type' ({kind}): {exc}") from None
        return (resized.movedim(1, -1).contiguous() if is_image else resized.squeeze(1),)


NODES = [ResizeImageMaskNode]
