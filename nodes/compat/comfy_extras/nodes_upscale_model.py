"""ComfyUI's `comfy_extras.nodes_upscale_model` for packs: the upscale-model nodes as classic classes (nodes/compat/core_nodes.py)."""

from __future__ import annotations

from nodes.compat.core_nodes import reexport

NODE_NAMES = ("UpscaleModelLoader", "ImageUpscaleWithModel", )
__getattr__, __dir__ = reexport("comfy_extras.nodes_upscale_model", NODE_NAMES)
