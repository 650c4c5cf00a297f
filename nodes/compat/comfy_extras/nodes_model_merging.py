"""ComfyUI's `comfy_extras.nodes_model_merging` for packs: the model merging nodes as classic classes (nodes/compat/core_nodes.py)."""

from __future__ import annotations

from nodes.compat.core_nodes import reexport

NODE_NAMES = ("ModelMergeSimple", "ModelMergeBlocks", "ModelMergeSubtract", "ModelMergeAdd", "CheckpointSave", "CLIPMergeSimple", "CLIPMergeSubtract", "CLIPMergeAdd", "CLIPSave", "VAESave", "ModelSave", )
__getattr__, __dir__ = reexport("comfy_extras.nodes_model_merging", NODE_NAMES)
