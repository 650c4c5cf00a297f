"""ComfyUI's `comfy_extras.nodes_clip_sdxl` for packs: the SDXL text encoders as classic classes (nodes/compat/core_nodes.py)."""

from __future__ import annotations

from nodes.compat.core_nodes import reexport

NODE_NAMES = ("CLIPTextEncodeSDXL", "CLIPTextEncodeSDXLRefiner", )
__getattr__, __dir__ = reexport("comfy_extras.nodes_clip_sdxl", NODE_NAMES)
