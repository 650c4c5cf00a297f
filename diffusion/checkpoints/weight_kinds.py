"""Model files beyond whole checkpoints, VAEs and LoRAs: ControlNets, upscalers, CLIP vision, ...

Each `WeightKind` is one `main.py make-checkpoint --kind NAME` and one rule of `main.py inspect`
(and of `detect_file_kind`, so loading such a file as a checkpoint says what it is). It names two
functions as "module:function" strings, imported only when used:

    writer(out, *, family, size, seed, dtype) -> int
        write random weights in the exact original key layout and names; `family` is the model
        family the file is made for (None when the kind has none), `size` "tiny" | "full";
        returns the number of bytes written.
    recogniser(sd) -> dict | None
        `sd` maps key -> tensor (or a lazy safetensors mapping with `.shape(key)`); return the
        description `inspect` prints (at least {"kind": NAME}; "family_guess", "components", ...)
        when the keys and shapes are of this kind, else None. Recognisers run in table order,
        before the checkpoint / LoRA / VAE / UNet rules, so a specific layout wins.

To add a kind, add one entry to KINDS.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class WeightKind:
    name: str                      # the --kind value, e.g. "controlnet"
    writer: str                    # "module:function" (see the module docstring)
    recogniser: str | None         # "module:function" or None
    help: str                      # one line for --help
    families: tuple[str, ...] = ()  # the --family values it accepts; () = it takes none
    default_family: str | None = None


KINDS: tuple[WeightKind, ...] = (
    WeightKind("controlnet", "diffusion.models.controlnet.make:write_controlnet",
               "diffusion.models.controlnet.make:recognise_controlnet",
               "a ControlNet (original layout: input_hint_block, zero_convs, middle_block_out)",
               families=("sd15", "sd21", "sdxl"), default_family="sd15"),
    WeightKind("controlnet-diffusers", "diffusion.models.controlnet.make:write_diffusers_controlnet",
               "diffusion.models.controlnet.make:recognise_diffusers_controlnet",
               "a ControlNet in diffusers' ControlNetModel layout (controlnet_cond_embedding, down_blocks, "
               "controlnet_down_blocks; no config.json)",
               families=("sd15", "sd21", "sdxl"), default_family="sd15"),
    WeightKind("t2i-adapter", "diffusion.models.controlnet.make_adapters:write_t2i_adapter",
               "diffusion.models.controlnet.make_adapters:recognise_t2i_adapter",
               "a T2I-Adapter (full, original layout: conv_in, body.N; sdxl: 16x unshuffle)",
               families=("sd15", "sdxl"), default_family="sd15"),
    WeightKind("sd15-full-layout", "diffusion.models.controlnet.make_adapter_base:write_full_layout_checkpoint", None,
               "an SD1.5 checkpoint with SD1.5's UNet block layout (4 levels, 2 res blocks each) at the --size's "
               "widths: what tiny T2I-Adapters fit"),
    WeightKind("control-lora", "diffusion.models.controlnet.make_adapters:write_control_lora",
               "diffusion.models.controlnet.make_adapters:recognise_control_lora",
               "a ControlLoRA (lora_controlnet; .up/.down pairs over the family's UNet encoder)",
               families=("sd15", "sd21", "sdxl"), default_family="sdxl"),
    WeightKind("upscaler-esrgan", "diffusion.models.upscale.make_esrgan:write_esrgan",
               "diffusion.models.upscale.make_esrgan:recognise_esrgan",
               "a 4x ESRGAN upscaler (RRDBNet, original layout; .pth or .safetensors)"),
    WeightKind("taesd", "diffusion.models.taesd.files:write_taesd_decoder",
               "diffusion.models.taesd.files:recognise_taesd_decoder",
               "a TAESD preview decoder for SD1/SD2 (models/vae_approx/taesd_decoder.safetensors)"),
    WeightKind("taesdxl", "diffusion.models.taesd.files:write_taesd_decoder", None,
               "a TAESD preview decoder for SDXL (taesdxl_decoder.safetensors; the taesd layout)"),
    WeightKind("hypernetwork", "diffusion.models.hypernetwork.make_hypernetwork:write_hypernetwork", None,
               "an A1111 hypernetwork .pt for the family's attention widths (relu, layers 1-2-1)",
               families=("sd15", "sd21-v", "sdxl"), default_family="sd15"),
    WeightKind("clip-vision-l", "diffusion.models.clip_vision.make_clip_vision:write_clip_vision_l",
               "diffusion.models.clip_vision.make_clip_vision:recognise_clip_vision_l",
               "CLIP vision ViT-L/14 (Hugging Face layout, as clip_vision/ files)"),
    WeightKind("clip-vision-h", "diffusion.models.clip_vision.make_clip_vision:write_clip_vision_h",
               "diffusion.models.clip_vision.make_clip_vision:recognise_clip_vision_h",
               "CLIP vision ViT-H/14 (Hugging Face layout)"),
    WeightKind("clip-vision-g", "diffusion.models.clip_vision.make_clip_vision:write_clip_vision_g",
               "diffusion.models.clip_vision.make_clip_vision:recognise_clip_vision_g",
               "CLIP vision ViT-bigG/14 (Hugging Face layout; SDXL revision)"),
    WeightKind("sd21-unclip-l", "diffusion.checkpoints.make_unclip:write_sd21_unclip_l", None,
               "an SD2.1 unCLIP-L checkpoint (adm 1536; CLIP ViT-L/14 under embedder.model.visual., noise_augmentor)"),
    WeightKind("sd21-unclip-h", "diffusion.checkpoints.make_unclip:write_sd21_unclip_h", None,
               "an SD2.1 unCLIP-H checkpoint (adm 2048; OpenCLIP ViT-H/14 under embedder.model.visual.)"),
    WeightKind("style-model", "diffusion.models.style_model.make_style_model:write_style_model",
               "diffusion.models.style_model.make_style_model:recognise_style_model",
               "T2I-Adapter style model (t2iadapter_style layout)"),
    WeightKind("gligen", "diffusion.models.gligen.make_gligen:write_gligen",
               "diffusion.models.gligen.make_gligen:recognise_gligen",
               "GLIGEN text-box model for SD1.x (gligen_sd14_textbox layout)"),
)


def _resolve(target: str) -> Callable[..., Any]:
    module, _, function = target.partition(":")
    return getattr(importlib.import_module(module), function)


def kind_names() -> tuple[str, ...]:
    return tuple(kind.name for kind in KINDS)


def weight_kind(name: str) -> WeightKind:
    for kind in KINDS:
        if kind.name == name:
            return kind
    raise ValueError(f"unknown --kind {name!r}; expected one of {', '.join(kind_names()) or '(none)'}")


def write_kind(name: str, out: str, *, family: str | None, size: str, seed: int, dtype: Any) -> int:
    """Write a random file of kind `name`; checks `family` against the kind's list."""
    kind = weight_kind(name)
    if family is None:
        family = kind.default_family
    if kind.families and family not in kind.families:
        raise ValueError(f"--kind {name} is made for --family {' | '.join(kind.families)}, got {family!r}")
    if not kind.families and family is not None:
        raise ValueError(f"--kind {name} takes no --family (got {family!r})")
    return _resolve(kind.writer)(out, family=family, size=size, seed=seed, dtype=dtype)


def recognise(sd: Mapping) -> dict | None:
    """The first recogniser's description of `sd`, or None when no extra kind claims it."""
    for kind in KINDS:
        if kind.recogniser is None:
            continue
        described = _resolve(kind.recogniser)(sd)
        if described is not None:
            return {"kind": kind.name, **described}
    return None
