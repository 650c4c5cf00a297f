"""ComfyUI's `comfy_extras.nodes_latent` for packs: the latent arithmetic nodes as classic classes (nodes/compat/core_nodes.py)."""

from __future__ import annotations

from nodes.compat.core_nodes import reexport

NODE_NAMES = ("LatentAdd", "LatentSubtract", "LatentMultiply", "LatentInterpolate", "LatentBatch", "LatentBatchSeedBehavior", "LatentApplyOperation", "LatentApplyOperationCFG", "LatentOperationTonemapReinhard", "LatentOperationSharpen", "LatentConcat", "LatentCut", )
__getattr__, __dir__ = reexport("comfy_extras.nodes_latent", NODE_NAMES)
