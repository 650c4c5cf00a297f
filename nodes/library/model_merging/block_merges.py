"""Per-block model merges (ComfyUI's ModelMergeSD1, ModelMergeSD2, ModelMergeSDXL).

Each ratio input is named by the UNet key prefix it weights ("input_blocks.4." ...). A weight
takes the ratio of the longest name it starts with: ratio*model1 + (1-ratio)*model2; a key no
name matches takes the first input's ratio (time_embed.), as ComfyUI does.
"""

from __future__ import annotations

from typing import Any

from nodes.api.declare import Float, Node, Out, Socket
from nodes.library.model_merging.merge_nodes import RATIO, block_ratio, merge_models, merging

CATEGORY = "advanced/model_merging/model_specific"


def sd_block_names(input_blocks: int, output_blocks: int, dot: str) -> list[str]:
    """The ratio input names: time/label embeddings, each block (with `dot` after its number), then out."""
    return ["time_embed.", "label_emb.", *(f"input_blocks.{i}{dot}" for i in range(input_blocks)),
            *(f"middle_block.{i}{dot}" for i in range(3)), *(f"output_blocks.{i}{dot}" for i in range(output_blocks)),
            "out."]


class _BlockMerge(Node):
    """A merge with one ratio input per key prefix (the input names)."""

    category = CATEGORY
    outputs = [Out("MODEL")]

    @classmethod
    def run(cls, ctx: Any, *, model1: Any, model2: Any, **ratios: float) -> tuple:
        declared = [i.name for i in cls.inputs if i.type == "FLOAT"]
        ordered = {name: float(ratios[name]) for name in declared if name in ratios}
        return (merge_models(cls.node_id, model1, model2, merging.merge_blend, block_ratio(ordered)),)


def _inputs(names: list[str]) -> list:
    return [Socket("MODEL", "model1"), Socket("MODEL", "model2"), *(Float(name, **RATIO) for name in names)]


class ModelMergeSD1(_BlockMerge):
    node_id = "ModelMergeSD1"
    description = "Merges two SD1.x models with one ratio per UNet block (ratio 1 keeps model1)."
    inputs = _inputs(sd_block_names(12, 12, "."))


class ModelMergeSD2(_BlockMerge):
    node_id = "ModelMergeSD2"
    description = "Merges two SD2.x models with one ratio per UNet block (ratio 1 keeps model1)."
    inputs = _inputs(sd_block_names(12, 12, "."))


class ModelMergeSDXL(_BlockMerge):
    node_id = "ModelMergeSDXL"
    description = "Merges two SDXL models with one ratio per UNet block (ratio 1 keeps model1)."
    inputs = _inputs(sd_block_names(9, 9, ""))


NODES = [ModelMergeSD1, ModelMergeSD2, ModelMergeSDXL]
