"""ComfyUI's `comfy.model_patcher` for packs: ModelPatcher is latentgraph's MODEL handle class.

`isinstance(model, comfy.model_patcher.ModelPatcher)` holds for every MODEL a node receives. The
ComfyUI methods packs call on it (`clone`, `model_options`, `set_model_sampler_cfg_function`,
`set_model_attn2_patch`, `set_model_unet_function_wrapper`, `add_patches`, `get_model_object`, ...)
are put on the class by `install()` (run when this module is imported; see nodes/compat/patcher_methods.py),
mapped onto the handle's `options`, whose keys are ComfyUI's (diffusion/sampling/model_hooks.py).
"""

from __future__ import annotations

from diffusion.memory.patcher import ModelPatcher, PatchError
from nodes.compat.patcher_methods import install

install()

__all__ = ["ModelPatcher", "PatchError", "install"]


def __getattr__(name: str):
    raise AttributeError(f"module 'comfy.model_patcher' has no attribute {name!r}: latentgraph provides {', '.join(__all__)}")
