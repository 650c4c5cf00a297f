"""ComfyUI's `latent_preview` for custom node packs: previewers and the sampler step callback.

`prepare_callback(model, steps)` gives the `callback(step, x0, x, total_steps)` ComfyUI's samplers
call; it reports the running node's progress with a live preview, as latentgraph's KSampler does:
TAESD from models/vae_approx/ when the preview method is auto/taesd and the decoder is there, else
the latent2rgb projection (diffusion/sampling/previews.py); nothing when previews are off. The demo
model gets its own preview (its bundled decoder or fitted factors), as KSampler gives it. The
preview method is the prompt's (its extra_data, then the runtime's `--preview-method`), or
`comfy.cli_args.args.preview_method` outside a running node.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from PIL import Image

from diffusion.sampling import previews
from folders.file_identity import file_identity
from graph.context import PreviewImage
from graph.running import running_node
from nodes.api.runtime import preview_method
from nodes.compat.comfy import cli_args
from nodes.compat.comfy.cli_args import LatentPreviewMethod

__all__ = ["LatentPreviewMethod", "LatentPreviewer", "get_previewer", "prepare_callback", "MAX_PREVIEW_RESOLUTION"]

MAX_PREVIEW_RESOLUTION = 512


def _method() -> str:
    context = running_node()
    if context is not None and context.runtime is not None:
        return preview_method(context)
    method = cli_args.args.preview_method
    return method.value if isinstance(method, LatentPreviewMethod) else str(method)


def _taesd_decoder(latent_format: Any, method: str) -> torch.nn.Module | None:
    context = running_node()
    runtime = getattr(context, "runtime", None)
    if runtime is None or method not in ("auto", "taesd"):
        return None
    path = previews.taesd_decoder_path(latent_format, runtime.folders.model_paths("vae_approx"))
    if path is None:
        return None
    return runtime.models.files.raw(("taesd_decoder", *file_identity(path)), lambda: previews.load_taesd_decoder(path))


class LatentPreviewer:
    """Turns a predicted x0 latent into a preview picture."""

    def __init__(self, to_rgb: Callable[[torch.Tensor], Any]) -> None:
        self._to_rgb = to_rgb

    def decode_latent_to_preview(self, x0: torch.Tensor) -> Image.Image:
        return Image.fromarray(self._to_rgb(x0))

    def decode_latent_to_preview_image(self, preview_format: str, x0: torch.Tensor) -> tuple[str, Image.Image, int]:
        """ComfyUI's preview tuple: (format, PIL image, max size)."""
        return preview_format, self.decode_latent_to_preview(x0), MAX_PREVIEW_RESOLUTION


def get_previewer(device: Any, latent_format: Any) -> LatentPreviewer | None:
    """The previewer for this latent format under the current preview method (None when previews are off
    or the format has no RGB projection)."""
    method = _method()
    to_rgb = previews.preview_function(method, latent_format, _taesd_decoder(latent_format, method))
    return None if to_rgb is None else LatentPreviewer(to_rgb)


def latent_format_of(model: Any) -> Any:
    """The latent format previews of a MODEL (latentgraph's ModelPatcher, or a wrapper around one) use:
    its own, except the demo model's preview format for the shipped demo checkpoint (as KSampler's)."""
    for candidate in (model, getattr(model, "patcher", None), getattr(model, "inner", None)):
        info = getattr(candidate, "model_info", None)
        if getattr(info, "latent_format", None) is not None:
            return previews.preview_format(candidate)
    inner = getattr(model, "model", None)
    if getattr(inner, "latent_format", None) is not None:
        return inner.latent_format
    raise TypeError(f"latent_preview.prepare_callback: cannot find the latent format of a {type(model).__name__}")


def prepare_callback(model: Any, steps: int, x0_output_dict: dict | None = None) -> Callable[..., None]:
    """The sampler callback: progress (step + 1 of the total) of the running node with a preview;
    the latest x0 is kept in `x0_output_dict["x0"]` when a dict is given."""
    previewer = get_previewer(None, latent_format_of(model))
    context = running_node()

    def callback(step: int, x0: torch.Tensor, x: torch.Tensor, total_steps: int) -> None:
        if x0_output_dict is not None:
            x0_output_dict["x0"] = x0
        preview = None
        if previewer is not None:
            preview = PreviewImage("JPEG", previews.encode_preview(previewer._to_rgb(x0), "JPEG"))
        target = context or running_node()
        if target is not None:
            target.progress(step + 1, total_steps or steps, preview)

    return callback
