"""ComfyUI's `comfy.sd` for packs: load_checkpoint_guess_config, and CLIP / VAE as latentgraph's handles.

`comfy.sd.CLIP` is diffusion.models.text.text_encode.CLIPHandle and `comfy.sd.VAE` is
diffusion.models.vae.handle.VAEHandle, the values on CLIP and VAE sockets. What packs do with them
works as in ComfyUI: `vae.encode(pixels)` / `vae.decode(latent)` on [B, H, W, C] images and unscaled
latents, `clip.tokenize(text)` then `clip.encode_from_tokens(tokens, return_pooled=True)` (added
here, with `encode_from_tokens_scheduled`), `clip.clone()`. A model is moved to its compute device
through the current runtime before it runs (nodes/compat/core_nodes.py).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from diffusion.checkpoints.loader import load_checkpoint
from diffusion.models.text.text_encode import CLIPHandle
from diffusion.models.vae.handle import VAEHandle
from nodes.compat.core_nodes import current_runtime
from nodes.compat.patcher_methods import install as _install_patcher_methods

_install_patcher_methods()

CLIP = CLIPHandle
VAE = VAEHandle

__all__ = ["CLIP", "VAE", "load_checkpoint_guess_config"]


def _load_clip(clip: CLIPHandle) -> None:
    runtime = current_runtime(required=False)
    if runtime is not None:
        runtime.models.load(clip.patchers())


def encode_from_tokens(self: CLIPHandle, tokens: Any, return_pooled: bool | str = False,
                       return_dict: bool = False) -> Any:
    """ComfyUI's CLIP.encode_from_tokens: cond, (cond, pooled), or {"cond", "pooled_output"}."""
    if return_pooled == "unprojected":
        raise ValueError("CLIP.encode_from_tokens(return_pooled='unprojected') is not supported; "
                         "return_pooled=True gives the pooled output latentgraph's text encoders make")
    _load_clip(self)
    cond, pooled = self.encode_tokens(tokens)
    if return_dict:
        return {"cond": cond, "pooled_output": pooled}
    return (cond, pooled) if return_pooled else cond


def encode_from_tokens_scheduled(self: CLIPHandle, tokens: Any, unprojected: bool = False,
                                 add_dict: dict | None = None) -> list:
    """ComfyUI's CLIP.encode_from_tokens_scheduled: a CONDITIONING list [[cond, {"pooled_output", ...}]]."""
    cond, pooled = encode_from_tokens(self, tokens, return_pooled=True)
    options = {"pooled_output": pooled} if pooled is not None else {}
    options.update(add_dict or {})
    return [[cond, options]]


for _name, _function in (("encode_from_tokens", encode_from_tokens),
                         ("encode_from_tokens_scheduled", encode_from_tokens_scheduled)):
    if not hasattr(CLIPHandle, _name):
        setattr(CLIPHandle, _name, _function)


def load_checkpoint_guess_config(ckpt_path: str | os.PathLike, output_vae: bool = True, output_clip: bool = True,
                                 output_clipvision: bool = False, embedding_directory: Any = None,
                                 output_model: bool = True, **unsupported: Any) -> tuple:
    """(model, clip, vae, clipvision) of a checkpoint file, as ComfyUI returns them (None for what was not asked).

    With a runtime the weights take its dtypes and device, as CheckpointLoaderSimple loads them."""
    if unsupported:
        raise TypeError(f"comfy.sd.load_checkpoint_guess_config: {', '.join(sorted(unsupported))} not supported; "
                        "it takes ckpt_path, output_vae, output_clip, output_clipvision, embedding_directory, "
                        "output_model")
    if embedding_directory is None:
        dirs: list = []
    elif isinstance(embedding_directory, (str, os.PathLike)):
        dirs = [Path(embedding_directory)]
    else:
        dirs = [Path(d) for d in embedding_directory]
    runtime = current_runtime(required=False)
    kwargs: dict[str, Any] = {}
    if runtime is not None:
        choice = runtime.models.choice
        kwargs = {"dtype": choice.unet_dtype, "clip_dtype": choice.text_encoder_dtype,
                  "vae_dtype": choice.vae_dtype, "load_device": choice.device}
    loaded = load_checkpoint(ckpt_path, embeddings_dirs=dirs, output_clip=output_clip, output_vae=output_vae,
                             output_clip_vision=output_clipvision, **kwargs)
    model = loaded.model if output_model else None
    if model is not None and runtime is not None:
        from nodes.api.model_services import prepare_unet

        model = prepare_unet(model, runtime.models.choice)
    vae = loaded.vae if output_vae else None
    if vae is not None and runtime is not None and runtime.models.choice.device.type != "cpu":
        vae.model.to(runtime.models.choice.device)
    clip_vision = getattr(loaded, "clip_vision", None) if output_clipvision else None
    return model, loaded.clip if output_clip else None, vae, clip_vision


def __getattr__(name: str):
    raise AttributeError(f"module 'comfy.sd' has no attribute {name!r}: latentgraph provides {', '.join(__all__)}")
