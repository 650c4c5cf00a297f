"""Model and CLIP merge nodes (ComfyUI's ModelMergeSimple/Add/Subtract/Blocks and CLIPMerge*).

Each returns a clone of its first input carrying the merge as weight patches; neither input
is changed. The UNet keys are weighted by the longest ratio-input name they start with, and
a key no name matches gets the first ratio input's value, as ComfyUI does.
"""

from __future__ import annotations

from typing import Any

from nodes.api.declare import Float, Node, Out, Socket
from nodes.api.lazy import lazy_import

merging = lazy_import("diffusion.checkpoints.merge")

CATEGORY = "advanced/model_merging"
RATIO = {"default": 1.0, "min": 0.0, "max": 1.0, "step": 0.01}
MULTIPLIER = {"default": 1.0, "min": -10.0, "max": 10.0, "step": 0.01}


def _family(model: Any) -> str | None:
    info = model.model_info
    return info.family if info is not None and hasattr(info, "family") else None


def merge_models(node: str, model1: Any, model2: Any, merge: Any, *args: Any) -> Any:
    """`merge(model1, model2, *args, what=...)` after the family check; errors name the node."""
    try:
        merging.check_same_family(_family(model1), _family(model2), "model1/model2")
        return merge(model1, model2, *args, what="model1/model2")
    except merging.MergeError as exc:
        raise merging.MergeError(f"{node}: {exc}") from None


def merge_clips(node: str, clip1: Any, clip2: Any, merge: Any, *args: Any) -> Any:
    """`merge(encoder1, encoder2, *args)` for every text encoder, position ids and logit scale skipped."""
    skip = merging.CLIP_SKIPPED_ENDINGS

    def one(first, second, label):
        return merge(first, second, *args, skip=skip, what=f"clip1/clip2 {label}")
    try:
        return merging.merge_clip(clip1, clip2, one)
    except merging.MergeError as exc:
        raise merging.MergeError(f"{node}: {exc}") from None


def block_ratio(ratios: dict[str, float]) -> Any:
    """name -> ratio by the longest matching prefix; the first ratio is the default (ComfyUI's rule)."""
    default = next(iter(ratios.values()))
    return lambda name: merging.longest_prefix_ratio(name, ratios, default)


class ModelMergeSimple(Node):
    node_id = "ModelMergeSimple"
    category = CATEGORY
    description = "ratio*model1 + (1-ratio)*model2 for every UNet weight; ratio 1 keeps model1."
    inputs = [Socket("MODEL", "model1"), Socket("MODEL", "model2"), Float("ratio", **RATIO)]
    outputs = [Out("MODEL")]

    @classmethod
    def run(cls, ctx: Any, *, model1: Any, model2: Any, ratio: float) -> tuple:
        return (merge_models(cls.node_id, model1, model2, merging.merge_blend, lambda name: ratio),)


class ModelMergeAdd(Node):
    node_id = "ModelMergeAdd"
    category = CATEGORY
    description = "model1 + model2 for every UNet weight."
    inputs = [Socket("MODEL", "model1"), Socket("MODEL", "model2")]
    outputs = [Out("MODEL")]

    @classmethod
    def run(cls, ctx: Any, *, model1: Any, model2: Any) -> tuple:
        return (merge_models(cls.node_id, model1, model2, merging.merge_add),)


class ModelMergeSubtract(Node):
    node_id = "ModelMergeSubtract"
    category = CATEGORY
    description = ("multiplier*(model1 - model2) for every UNet weight (as ComfyUI, model1 is scaled by the "
                   "multiplier too).")
    inputs = [Socket("MODEL", "model1"), Socket("MODEL", "model2"), Float("multiplier", **MULTIPLIER)]
    outputs = [Out("MODEL")]

    @classmethod
    def run(cls, ctx: Any, *, model1: Any, model2: Any, multiplier: float) -> tuple:
        return (merge_models(cls.node_id, model1, model2, merging.merge_subtract, multiplier),)


class ModelMergeBlocks(Node):
    node_id = "ModelMergeBlocks"
    category = CATEGORY
    description = ("Like ModelMergeSimple with one ratio per part: 'input' for input_blocks (and time_embed, "
                   "label_emb), 'middle' for middle_block, 'out' for output_blocks and out.")
    inputs = [Socket("MODEL", "model1"), Socket("MODEL", "model2"), Float("input", **RATIO),
              Float("middle", **RATIO), Float("out", **RATIO)]
    outputs = [Out("MODEL")]

    @classmethod
    def run(cls, ctx: Any, *, model1: Any, model2: Any, input: float, middle: float, out: float) -> tuple:
        ratio_of = block_ratio({"input": input, "middle": middle, "out": out})
        return (merge_models(cls.node_id, model1, model2, merging.merge_blend, ratio_of),)


class CLIPMergeSimple(Node):
    node_id = "CLIPMergeSimple"
    category = CATEGORY
    description = "ratio*clip1 + (1-ratio)*clip2 for every text encoder weight; ratio 1 keeps clip1."
    inputs = [Socket("CLIP", "clip1"), Socket("CLIP", "clip2"), Float("ratio", **RATIO)]
    outputs = [Out("CLIP")]

    @classmethod
    def run(cls, ctx: Any, *, clip1: Any, clip2: Any, ratio: float) -> tuple:
        return (merge_clips(cls.node_id, clip1, clip2, merging.merge_blend, lambda name: ratio),)


class CLIPMergeAdd(Node):
    node_id = "CLIPMergeAdd"
    category = CATEGORY
    description = "clip1 + clip2 for every text encoder weight."
    inputs = [Socket("CLIP", "clip1"), Socket("CLIP", "clip2")]
    outputs = [Out("CLIP")]

    @classmethod
    def run(cls, ctx: Any, *, clip1: Any, clip2: Any) -> tuple:
        return (merge_clips(cls.node_id, clip1, clip2, merging.merge_add),)


class CLIPMergeSubtract(Node):
    node_id = "CLIPMergeSubtract"
    category = CATEGORY
    description = "multiplier*(clip1 - clip2) for every text encoder weight."
    inputs = [Socket("CLIP", "clip1"), Socket("CLIP", "clip2"), Float("multiplier", **MULTIPLIER)]
    outputs = [Out("CLIP")]

    @classmethod
    def run(cls, ctx: Any, *, clip1: Any, clip2: Any, multiplier: float) -> tuple:
        return (merge_clips(cls.node_id, clip1, clip2, merging.merge_subtract, multiplier),)


NODES = [ModelMergeSimple, ModelMergeAdd, ModelMergeSubtract, ModelMergeBlocks, CLIPMergeSimple, CLIPMergeAdd,
         CLIPMergeSubtract]
