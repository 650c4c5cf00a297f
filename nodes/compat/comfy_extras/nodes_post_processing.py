"""ComfyUI's `comfy_extras.nodes_post_processing` for packs: the image post-processing nodes as classic classes (nodes/compat/core_nodes.py)."""

from __future__ import annotations

from nodes.compat.core_nodes import reexport

NODE_NAMES = ("Blend:ImageBlend", "Blur:ImageBlur", "Quantize:ImageQuantize", "Sharpen:ImageSharpen", "ImageScaleToTotalPixels", )
__getattr__, __dir__ = reexport("comfy_extras.nodes_post_processing", NODE_NAMES)
