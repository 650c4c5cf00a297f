"""Where a LoRA key points: kohya/ComfyUI names -> parameter names of our models.

Two UNet naming schemes are found in LoRA files:

- LDM names (ComfyUI, some trainers): `lora_unet_input_blocks_1_1_proj_in` ->
  `input_blocks.1.1.proj_in.weight`;
- diffusers names (kohya sd-scripts, most SD1.x/SDXL LoRAs):
  `lora_unet_down_blocks_0_attentions_0_proj_in` -> the same parameter.

The diffusers -> LDM map is derived from the UNet's own parameter names (which input and
output blocks hold ResBlocks, attention, down/upsamplers), so it follows any UNet shape.

Text encoders: `lora_te_` (the single encoder of SD1/SD2), `lora_te1_` (SDXL CLIP-L),
`lora_te2_` (SDXL CLIP-G), followed by the HF parameter path with `_` for `.`; and ComfyUI's
own `text_encoders.clip_l.transformer.<HF parameter path>` (clip_l, clip_g, clip_h).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_RESNET_PARTS = {
    "norm1": "in_layers.0",
    "conv1": "in_layers.2",
    "time_emb_proj": "emb_layers.1",
    "norm2": "out_layers.0",
    "conv2": "out_layers.3",
    "conv_shortcut": "skip_connection",
}
_TOP_LEVEL = {
    "conv_in": "input_blocks.0.0",
    "time_embedding.linear_1": "time_embed.0",
    "time_embedding.linear_2": "time_embed.2",
    "add_embedding.linear_1": "label_emb.0.0",
    "add_embedding.linear_2": "label_emb.0.2",
    "conv_norm_out": "out.0",
    "conv_out": "out.2",
}


def kohya_name(prefix: str, stem: str) -> str:
    """`lora_unet_` + `input_blocks.1.1.proj_in` -> `lora_unet_input_blocks_1_1_proj_in`."""
    return prefix + stem.replace(".", "_")


def _stems(param_names: Iterable[str]) -> set[str]:
    return {name[: -len(".weight")] for name in param_names if name.endswith(".weight")}


def _block_module_prefixes(names: set[str], root: str) -> dict[int, set[str]]:
    """For `input_blocks` / `output_blocks`: block index -> the set of sub-module indices used."""
    found: dict[int, set[str]] = {}
    pattern = re.compile(rf"^{root}\.(\d+)\.(\d+)\.")
    for name in names:
        if m := pattern.match(name):
            found.setdefault(int(m.group(1)), set()).add(m.group(2))
    return found


def diffusers_unet_prefix_map(param_names: Iterable[str]) -> dict[str, str]:
    """diffusers module prefixes -> LDM module prefixes, derived from an LDM UNet's parameter names."""
    names = set(param_names)
    mapping = dict(_TOP_LEVEL)
    inputs = _block_module_prefixes(names, "input_blocks")
    level, index = 0, 0
    for block in sorted(inputs):
        if block == 0:
            continue
        if any(n.startswith(f"input_blocks.{block}.0.op.") for n in names):
            mapping[f"down_blocks.{level}.downsamplers.0.conv"] = f"input_blocks.{block}.0.op"
            level, index = level + 1, 0
            continue
        mapping[f"down_blocks.{level}.resnets.{index}"] = f"input_blocks.{block}.0"
        if "1" in inputs[block]:
            mapping[f"down_blocks.{level}.attentions.{index}"] = f"input_blocks.{block}.1"
        index += 1
    if any(n.startswith("middle_block.") for n in names):
        mapping["mid_block.resnets.0"] = "middle_block.0"
        if any(n.startswith("middle_block.2.") for n in names):
            mapping["mid_block.attentions.0"] = "middle_block.1"
            mapping["mid_block.resnets.1"] = "middle_block.2"
        else:
            mapping["mid_block.resnets.1"] = "middle_block.1"
    outputs = _block_module_prefixes(names, "output_blocks")
    level, index = 0, 0
    for block in sorted(outputs):
        mapping[f"up_blocks.{level}.resnets.{index}"] = f"output_blocks.{block}.0"
        upsampler = None
        for sub in sorted(outputs[block]):
            if sub != "0" and any(n.startswith(f"output_blocks.{block}.{sub}.conv.") for n in names):
                upsampler = sub
        if "1" in outputs[block] and upsampler != "1":
            mapping[f"up_blocks.{level}.attentions.{index}"] = f"output_blocks.{block}.1"
        index += 1
        if upsampler is not None:
            mapping[f"up_blocks.{level}.upsamplers.0.conv"] = f"output_blocks.{block}.{upsampler}.conv"
            level, index = level + 1, 0
    return mapping


def unet_lora_targets(param_names: Iterable[str]) -> dict[str, str]:
    """LoRA base names (every accepted spelling) -> UNet parameter names (`... .weight`)."""
    names = list(param_names)
    stems = _stems(names)
    targets: dict[str, str] = {}
    for stem in stems:
        weight = stem + ".weight"
        targets[kohya_name("lora_unet_", stem)] = weight
        targets[stem] = weight
        targets["diffusion_model." + stem] = weight
        targets["model.diffusion_model." + stem] = weight
    for diffusers_stem, ldm_stem in diffusers_unet_stems(names).items():
        targets.setdefault(kohya_name("lora_unet_", diffusers_stem), ldm_stem + ".weight")
        targets.setdefault("unet." + diffusers_stem, ldm_stem + ".weight")
    return targets


def diffusers_unet_stems(param_names: Iterable[str]) -> dict[str, str]:
    """diffusers module paths -> LDM module paths for every weight of an LDM UNet."""
    names = list(param_names)
    ldm_stems = _stems(names)
    inverse_parts = {ldm: diffusers for diffusers, ldm in _RESNET_PARTS.items()}
    out: dict[str, str] = {}
    for diffusers_prefix, ldm_prefix in diffusers_unet_prefix_map(names).items():
        for stem in ldm_stems:
            if stem == ldm_prefix:
                out[diffusers_prefix] = stem
            elif stem.startswith(ldm_prefix + "."):
                rest = stem[len(ldm_prefix) + 1 :]
                if ".resnets." in diffusers_prefix:
                    for ldm_part, diffusers_part in inverse_parts.items():
                        if rest == ldm_part or rest.startswith(ldm_part + "."):
                            rest = diffusers_part + rest[len(ldm_part) :]
                            break
                out[f"{diffusers_prefix}.{rest}"] = stem
    return out


TEXT_ENCODER_PREFIXES = {
    # family -> {lora prefix: encoder name}; as ComfyUI, SD1 also takes SDXL's `lora_te1_` (the same CLIP-L)
    "sd1": {"lora_te_": "l", "lora_te1_": "l"},
    "sd2": {"lora_te_": "h"},
    "sdxl": {"lora_te1_": "l", "lora_te2_": "g"},
    "sdxl-refiner": {"lora_te_": "g", "lora_te2_": "g"},
}


COMFY_TEXT_ENCODER_PREFIX = "text_encoders."


def text_encoder_lora_targets(family: str, encoder_params: dict[str, Iterable[str]]) -> dict[str, tuple[str, str]]:
    """LoRA base names -> (encoder name, parameter name) for a CLIP family's encoders."""
    targets: dict[str, tuple[str, str]] = {}
    for prefix, encoder in TEXT_ENCODER_PREFIXES.get(family, {}).items():
        if encoder not in encoder_params:
            continue
        for stem in _stems(encoder_params[encoder]):
            targets[kohya_name(prefix, stem)] = (encoder, stem + ".weight")
    for encoder, names in encoder_params.items():  # ComfyUI's own names (LoraSave): text_encoders.clip_l.transformer.
        for stem in _stems(names):
            targets[f"{COMFY_TEXT_ENCODER_PREFIX}clip_{encoder}.transformer.{stem}"] = (encoder, stem + ".weight")
    return targets
