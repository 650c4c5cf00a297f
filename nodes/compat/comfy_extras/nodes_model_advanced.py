"""ComfyUI's `comfy_extras.nodes_model_advanced` for packs: the model sampling and CFG patch nodes as classic classes (nodes/compat/core_nodes.py)."""

from __future__ import annotations

from nodes.compat.core_nodes import reexport

NODE_NAMES = ("ModelSamplingDiscrete", "ModelSamplingContinuousEDM", "ModelSamplingContinuousV", "RescaleCFG", "ModelComputeDtype", )
__getattr__, __dir__ = reexport("comfy_extras.nodes_model_advanced", NODE_NAMES)
