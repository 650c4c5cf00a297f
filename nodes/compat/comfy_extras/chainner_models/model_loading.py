"""`comfy_extras.chainner_models.model_loading.load_state_dict` for older packs, answered by spandrel.

ComfyUI dropped chaiNNer's model code for spandrel; packs written before still call
`model_loading.load_state_dict(sd).eval()` and pass the result where an UPSCALE_MODEL goes. This gives
latentgraph's UPSCALE_MODEL (diffusion/models/upscale/loading.py) built from the state dict, with
`eval()` (returns itself) and `.scale` as the old classes had.
"""

from __future__ import annotations

from typing import Any

from diffusion.models.upscale.loading import UpscaleModel, upscale_model_from_state_dict

__all__ = ["load_state_dict"]


class LoadedUpscaleModel(UpscaleModel):
    """An UPSCALE_MODEL with the nn.Module-style methods chaiNNer's models had."""

    def eval(self) -> LoadedUpscaleModel:
        self.descriptor.eval()
        return self

    def to(self, *args: Any, **kwargs: Any) -> LoadedUpscaleModel:
        self.descriptor.to(*args, **kwargs)
        return self


def load_state_dict(state_dict: dict) -> LoadedUpscaleModel:
    """The upscale model (ESRGAN, SwinIR, ...) whose weights are `state_dict`; UpscaleModelError when unknown."""
    model = upscale_model_from_state_dict(dict(state_dict), name="state dict")
    return LoadedUpscaleModel(descriptor=model.descriptor, name=model.name)
