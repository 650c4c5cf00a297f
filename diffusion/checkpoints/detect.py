"""What a model file is: its kind (checkpoint, VAE, LoRA, ...) and, for checkpoints, the family.

Families: "sd15", "sd15-inpaint", "sd21" (SD2.x eps), "sd21-v" (SD2.x v-prediction), "sdxl",
"sdxl-refiner", "sd21-unclip-l" and "sd21-unclip-h" (SD2.1 unCLIP, either prediction). They are
told apart by structure, never by a table of sizes, so tiny test models in the same layout are
recognised:

- no vector conditioning (`label_emb`): conv `proj_in` -> SD1.x (9 input channels -> inpaint),
  linear `proj_in` -> SD2.x;
- `label_emb` and no attention at the first level -> SDXL; the refiner's vector is the pooled
  text embedding plus five 256-wide features, and its pooled width equals its context width,
  so `adm_in_channels - 5*256 == context_dim` marks the refiner;
- `label_emb`, linear `proj_in` and attention at the first level -> SD2.1 unCLIP, whose vector is a
  noise-augmented CLIP image embedding and its noise level's embedding: 1536 wide for ViT-L image
  embeds (unclip-l), 2048 for ViT-H (unclip-h), as ComfyUI's SD21UnclipL/H (tiny test models keep
  these widths). The CLIP vision tower such a checkpoint carries is found by `clip_vision_part`.

Video checkpoints (Stable Video Diffusion: temporal layers in the UNet) are refused by name.

Prediction type, first match wins: the explicit override; a sidecar `<name>.yaml`
(`model.params.parameterization`); a `v_pred` key (ComfyUI's SDXL marker, honoured for every
family, and written by our checkpoint writer for v models); safetensors metadata
`modelspec.prediction_type`; for SD2.x ComfyUI's rule (population std of the last output
transformer's `norm1.bias` > 0.09, i.e. `output_blocks.11...` in full-size files); else eps.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import torch

from diffusion.checkpoints.checkpoint import CheckpointError
from diffusion.checkpoints.clip_vision_part import ClipVisionSource, find_clip_vision, is_video_checkpoint
from diffusion.checkpoints.weight_kinds import recognise
from diffusion.models.clip_vision.unclip import UNCLIP_ADM
from diffusion.models.latent_formats import LatentFormat, latent_format_for
from diffusion.models.unet.config import UNetConfig, UNetConfigError
from diffusion.models.unet.unet import unet_config_from_state_dict
from diffusion.models.vae.vae import VAEConfig, VAEConfigError, vae_config_from_state_dict

UNET_PREFIX = "model.diffusion_model."
VAE_PREFIX = "first_stage_model."
PREDICTIONS = ("eps", "v")
V_PRED_STD_THRESHOLD = 0.09
SIZE_FEATURE_DIM = 256

# family group -> text encoder kind -> candidate (prefix to strip, layout) in the order they are tried.
# "hf": the rest starts with `text_model.`; "hf-old": older SD1 files without `text_model.`;
# "openclip": OpenCLIP keys (`transformer.resblocks.N...`).
TEXT_ENCODER_PREFIXES = {
    "sd1": {"clip_l": [("cond_stage_model.transformer.", "hf"), ("cond_stage_model.transformer.", "hf-old")]},
    "sd2": {"clip_h": [("cond_stage_model.model.", "openclip"), ("conditioner.embedders.0.model.", "openclip")]},
    "sdxl": {
        "clip_l": [("conditioner.embedders.0.transformer.", "hf")],
        "clip_g": [("conditioner.embedders.1.model.", "openclip")],
    },
    "sdxl-refiner": {"clip_g": [("conditioner.embedders.0.model.", "openclip")]},
}
_LAYOUT_MARKERS = {
    "hf": "text_model.encoder.layers.0.mlp.fc1.weight",
    "hf-old": "encoder.layers.0.mlp.fc1.weight",
    "openclip": "transformer.resblocks.0.ln_1.weight",
}


class ModelDetectionError(CheckpointError):
    """The file is not a checkpoint of a supported family (the message names the file)."""


@dataclass(frozen=True)
class TextEncoderSource:
    """Where one text encoder's tensors sit in a checkpoint and in which key layout."""

    kind: str  # "clip_l" | "clip_h" | "clip_g"
    prefix: str  # stripped from the checkpoint keys
    layout: str  # "hf" | "hf-old" (no `text_model.` after the prefix) | "openclip"

    def extract(self, sd: Mapping) -> dict:
        """This encoder's tensors with the prefix stripped, in the HF (`text_model.`) or OpenCLIP layout."""
        rest = {k[len(self.prefix):]: k for k in sd if k.startswith(self.prefix)}
        if self.layout == "hf-old":
            return {"text_model." + k: sd[full] for k, full in rest.items()}
        return {k: sd[full] for k, full in rest.items()}


@dataclass(frozen=True)
class ModelInfo:
    """Everything detection learned about a checkpoint."""

    family: str
    prediction: str
    unet_config: UNetConfig
    vae_config: VAEConfig | None
    text_encoders: tuple[str, ...]
    latent_format: LatentFormat
    text_encoder_sources: tuple[TextEncoderSource, ...] = ()
    prediction_source: str = "default"
    unet_prefix: str = UNET_PREFIX
    vae_prefix: str = VAE_PREFIX
    clip_vision_source: ClipVisionSource | None = None  # the checkpoint's own CLIP vision tower, if any

    @property
    def is_inpaint(self) -> bool:
        return self.unet_config.in_channels > 4


def _name(path: str | Path | None) -> str:
    return str(path) if path is not None else "<state dict>"


def _count(keys, prefix: str) -> int:
    return sum(1 for k in keys if k.startswith(prefix))


_LORA_MARKERS = (".lora_down.", ".lora_up.", ".lora_A.", ".lora_B.", ".hada_w1_a", ".lokr_w1")
_EMBEDDING_KEYS = ("emb_params", "string_to_param", "clip_l", "clip_g")


def detect_file_kind(sd: Mapping) -> str:
    """"checkpoint" | "vae" | "lora" | "unet" | "text_encoder" | "embedding" | "unknown", or the name
    of a kind in `weight_kinds.KINDS` (ControlNet, upscaler, ...) whose recogniser claims the file."""
    extra = recognise(sd)
    if extra is not None:
        return extra["kind"]
    keys = list(sd)
    if _count(keys, UNET_PREFIX) > 5:
        return "checkpoint"
    if any(k.startswith(("lora_unet_", "lora_te")) or any(m in k for m in _LORA_MARKERS) for k in keys):
        return "lora"
    if "encoder.conv_in.weight" in sd and "decoder.conv_in.weight" in sd:
        return "vae"
    if VAE_PREFIX + "encoder.conv_in.weight" in sd and VAE_PREFIX + "decoder.conv_in.weight" in sd:
        return "vae"
    if "input_blocks.0.0.weight" in sd:
        return "unet"
    if any(k.startswith(("text_model.encoder.layers.", "transformer.resblocks.")) for k in keys):
        return "text_encoder"
    if keys and len(keys) <= 4 and all(k in _EMBEDDING_KEYS or k.startswith("string_to_") for k in keys):
        return "embedding"
    return "unknown"


_WHAT_TO_DO = {
    "vae": "it is a standalone VAE; choose it in a VAE loader (models/vae), not as a checkpoint",
    "lora": "it is a LoRA; apply it with a LoRA loader (models/loras), not as a checkpoint",
    "unet": "it is a bare UNet (diffusion model) without text encoder and VAE; use a UNet loader",
    "text_encoder": "it is a standalone text encoder; use a CLIP loader",
    "embedding": "it is a textual-inversion embedding; put it in models/embeddings and write embedding:name",
    "unknown": "unknown layout: no UNet under 'model.diffusion_model.' and no other known model layout",
}


def detect_model(sd: Mapping, path: str | Path | None = None, prediction_override: str | None = None) -> ModelInfo:
    """Detect the family, prediction type and component configs of a whole checkpoint.

    Raises ModelDetectionError naming the file for anything that is not a supported checkpoint.
    """
    name = _name(path)
    kind = detect_file_kind(sd)
    if kind != "checkpoint":
        raise ModelDetectionError(f"{name}: not a Stable Diffusion checkpoint: {_WHAT_TO_DO[kind]}")
    unet_info = detect_unet(sd, path, prefix=UNET_PREFIX, prediction_override=prediction_override)
    vae_config = None
    if VAE_PREFIX + "decoder.conv_in.weight" in sd:
        try:
            vae_config = vae_config_from_state_dict(sd, VAE_PREFIX)
        except (VAEConfigError, KeyError) as exc:
            raise ModelDetectionError(f"{name}: the VAE part has an unknown layout ({exc})") from None
    sources = []
    for te_kind, candidates in TEXT_ENCODER_PREFIXES[_group(unet_info.family)].items():
        for prefix, layout in candidates:
            if prefix + _LAYOUT_MARKERS[layout] in sd:
                sources.append(TextEncoderSource(te_kind, prefix, layout))
                break
    return dataclasses.replace(unet_info, vae_config=vae_config, text_encoder_sources=tuple(sources),
                               clip_vision_source=find_clip_vision(sd))


def _group(family: str) -> str:
    return {"sd15": "sd1", "sd15-inpaint": "sd1", "sd21": "sd2", "sd21-v": "sd2", "sd21-unclip-l": "sd2",
            "sd21-unclip-h": "sd2"}.get(family, family)


def text_encoder_family(family: str) -> str:
    """The family whose text encoders `family` uses (SD2.1 unCLIP models use SD2.1's CLIP-H)."""
    return "sd21" if family in UNCLIP_ADM else family


def detect_unet(sd: Mapping, path: str | Path | None = None, *, prefix: str = "",
                prediction_override: str | None = None) -> ModelInfo:
    """Detect family and prediction from the UNet tensors alone (keys under `prefix`).

    Used for whole checkpoints and for bare UNet files; `vae_config` is None and no text
    encoder sources are listed.
    """
    name = _name(path)
    if is_video_checkpoint(sd.keys(), prefix):
        raise ModelDetectionError(f"{name}: a video model (Stable Video Diffusion: temporal layers in the UNet); "
                                  "video models are not supported")
    if prediction_override not in (None, *PREDICTIONS):
        raise ValueError(f"prediction_override must be one of {PREDICTIONS} or None, not {prediction_override!r}")
    try:
        unet_config = unet_config_from_state_dict(sd, prefix)
    except (UNetConfigError, KeyError) as exc:
        raise ModelDetectionError(f"{name}: unknown UNet layout ({exc})") from None
    base_family = _unet_family(unet_config, name)
    prediction, source = _prediction(sd, path, base_family, unet_config, prediction_override, prefix)
    family = "sd21-v" if base_family == "sd21" and prediction == "v" else base_family
    return ModelInfo(
        family=family,
        prediction=prediction,
        unet_config=unet_config,
        vae_config=None,
        text_encoders=tuple(TEXT_ENCODER_PREFIXES[_group(family)]),
        latent_format=latent_format_for(family),
        prediction_source=source,
        unet_prefix=prefix,
    )


def _unet_family(cfg: UNetConfig, name: str) -> str:
    if cfg.adm_in_channels is None:
        if cfg.in_channels not in (4, 9) or (cfg.in_channels == 9 and cfg.use_linear_in_transformer):
            raise ModelDetectionError(
                f"{name}: unsupported UNet with {cfg.in_channels} input channels "
                "(supported: 4, or 9 for SD1.x inpainting)"
            )
        if cfg.use_linear_in_transformer:
            return "sd21"
        return "sd15-inpaint" if cfg.in_channels == 9 else "sd15"
    first_level_attends = cfg.transformer_depth[0] > 0
    if first_level_attends and cfg.use_linear_in_transformer and cfg.in_channels == 4 and cfg.context_dim:
        family = next((f for f, width in UNCLIP_ADM.items() if width == cfg.adm_in_channels), None)
        if family is not None:
            return family
        raise ModelDetectionError(
            f"{name}: unsupported SD2.x UNet with vector conditioning of {cfg.adm_in_channels} "
            f"(SD2.1 unCLIP takes {' or '.join(map(str, UNCLIP_ADM.values()))})")
    if first_level_attends or cfg.in_channels != 4 or cfg.context_dim is None:
        raise ModelDetectionError(
            f"{name}: unsupported UNet with vector conditioning of {cfg.adm_in_channels} "
            "(not SDXL base or refiner, nor SD2.1 unCLIP)"
        )
    if cfg.adm_in_channels - 5 * SIZE_FEATURE_DIM == cfg.context_dim:
        return "sdxl-refiner"
    if cfg.adm_in_channels > 6 * SIZE_FEATURE_DIM:
        return "sdxl"
    raise ModelDetectionError(f"{name}: unsupported UNet with vector conditioning of {cfg.adm_in_channels}")


def _prediction(sd: Mapping, path, family: str, cfg: UNetConfig, override: str | None,
                prefix: str) -> tuple[str, str]:
    if override is not None:
        return override, "override"
    if path is not None:
        from_yaml = _prediction_from_sidecar(Path(path))
        if from_yaml is not None:
            return from_yaml, "sidecar yaml"
    if "v_pred" in sd:
        return "v", "v_pred key"
    metadata = getattr(sd, "metadata", None) or {}
    declared = str(metadata.get("modelspec.prediction_type", "")).lower()
    if declared in ("v", "v_prediction"):
        return "v", "metadata"
    if declared in ("epsilon", "eps"):
        return "eps", "metadata"
    if family.startswith("sd21"):
        bias_key = _last_output_norm1_bias(sd, cfg, prefix)
        if bias_key is not None:
            bias = sd[bias_key]
            if not bias.is_meta and torch.std(bias.float(), unbiased=False).item() > V_PRED_STD_THRESHOLD:
                return "v", "norm1.bias std"
    return "eps", "default"


def _last_output_norm1_bias(sd: Mapping, cfg: UNetConfig, prefix: str) -> str | None:
    depths = cfg.transformer_depth_output
    for index in reversed(range(len(depths))):
        if depths[index] > 0:
            key = f"{prefix}output_blocks.{index}.1.transformer_blocks.0.norm1.bias"
            return key if key in sd else None
    return None


_PARAMETERIZATION = re.compile(r"^v(_prediction)?$")


def _prediction_from_sidecar(path: Path) -> str | None:
    sidecar = path.with_suffix(".yaml")
    if not sidecar.is_file():
        return None
    import yaml

    try:
        document = yaml.safe_load(sidecar.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ModelDetectionError(f"{sidecar}: not a readable YAML config ({exc})") from None
    model = document.get("model") if isinstance(document, dict) else None
    params = model.get("params") if isinstance(model, dict) else None
    if not isinstance(params, dict):
        return None
    value = str(params.get("parameterization", "eps")).strip().lower()
    return "v" if _PARAMETERIZATION.match(value) else "eps"
