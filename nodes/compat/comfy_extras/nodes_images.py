"""ComfyUI's `comfy_extras.nodes_images` for packs: the image nodes as classic classes (nodes/compat/core_nodes.py)."""

from __future__ import annotations

from nodes.compat.core_nodes import reexport

NODE_NAMES = ("ImageCrop", "RepeatImageBatch", "ImageFromBatch", "ImageAddNoise", "SaveAnimatedWEBP", "SaveAnimatedPNG", "ImageStitch", "ResizeAndPadImage", "GetImageSize", "ImageFlip", "ImageRotate", )
__getattr__, __dir__ = reexport("comfy_extras.nodes_images", NODE_NAMES)
