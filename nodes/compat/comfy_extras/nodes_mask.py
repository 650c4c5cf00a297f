"""ComfyUI's `comfy_extras.nodes_mask` for packs: the mask nodes as classic classes (nodes/compat/core_nodes.py)."""

from __future__ import annotations

from nodes.compat.core_nodes import reexport

NODE_NAMES = ("LatentCompositeMasked", "ImageCompositeMasked", "MaskToImage", "ImageToMask", "ImageColorToMask", "SolidMask", "InvertMask", "CropMask", "MaskComposite", "FeatherMask", "GrowMask", "ThresholdMask", )
__getattr__, __dir__ = reexport("comfy_extras.nodes_mask", NODE_NAMES)
