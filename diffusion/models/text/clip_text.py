"""CLIP text encoders of Stable Diffusion (the transformer itself: clip_transformer.py).

Three architectures are used by SD checkpoints:

- ``clip_l``: OpenAI CLIP ViT-L/14 text tower (SD1.x, SDXL's first encoder), quick_gelu;
- ``clip_h``: OpenCLIP ViT-H/14 text tower (SD2.x), gelu;
- ``clip_g``: OpenCLIP ViT-bigG/14 text tower (SDXL's second encoder, refiner), gelu,
  with the pooled text projection.

`ClipTextEncoder` holds the text transformer under the Hugging Face checkpoint names
(``text_model.encoder.layers.0.self_attn.q_proj.weight``, ``text_projection.weight``). Checkpoints that store OpenCLIP's layout (``transformer.resblocks.N.attn.in_proj_weight``)
are converted with `openclip_to_hf`; `hf_to_openclip` is its exact inverse.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import torch
from torch import nn

from diffusion.models.text.clip_transformer import ClipTextTransformer

VOCAB_SIZE = 49408
MAX_POSITIONS = 77
START_TOKEN = 49406
END_TOKEN = 49407
HEAD_DIM = 64  # every CLIP text tower uses 64-wide attention heads


class TextEncoderError(ValueError):
    """A text-encoder state dict that does not fit the CLIP text layout."""


@dataclass(frozen=True)
class TextEncoderConfig:
    """Shape of a CLIP text tower. `projection_dim` is None when the model has no text projection."""

    kind: str  # "clip_l" | "clip_h" | "clip_g" (informative; the shapes decide the model)
    hidden_size: int
    num_layers: int
    num_heads: int
    intermediate_size: int
    hidden_act: str
    projection_dim: int | None = None
    vocab_size: int = VOCAB_SIZE
    max_positions: int = MAX_POSITIONS

    @classmethod
    def preset(cls, kind: str, size: str = "full") -> TextEncoderConfig:
        """The real shapes (`size="full"`) or a tiny model of the same kind for tests (`size="tiny"`)."""
        key = (kind, size)
        if key not in _PRESETS:
            kinds = sorted({k for k, _ in _PRESETS})
            raise ValueError(f"unknown text encoder preset {kind!r}/{size!r}; kinds: {kinds}, sizes: full, tiny")
        return _PRESETS[key]

    def to_hf(self):
        """The equivalent transformers CLIPTextConfig (for tests against transformers; imports it)."""
        from transformers import CLIPTextConfig

        return CLIPTextConfig(
            vocab_size=self.vocab_size,
            hidden_size=self.hidden_size,
            intermediate_size=self.intermediate_size,
            num_hidden_layers=self.num_layers,
            num_attention_heads=self.num_heads,
            max_position_embeddings=self.max_positions,
            hidden_act=self.hidden_act,
            projection_dim=self.projection_dim or self.hidden_size,
            layer_norm_eps=1e-5,
            bos_token_id=START_TOKEN,
            eos_token_id=END_TOKEN,
            pad_token_id=1,
        )


def _preset(kind, hidden, layers, act, projection):
    return TextEncoderConfig(
        kind=kind,
        hidden_size=hidden,
        num_layers=layers,
        num_heads=max(1, hidden // HEAD_DIM),
        intermediate_size=hidden * 4,
        hidden_act=act,
        projection_dim=projection,
    )


# Tiny sizes are distinct per kind so SDXL's concatenated context (l ‖ g) has a telling width.
_PRESETS = {
    ("clip_l", "full"): _preset("clip_l", 768, 12, "quick_gelu", None),
    ("clip_h", "full"): _preset("clip_h", 1024, 24, "gelu", 1024),
    ("clip_g", "full"): _preset("clip_g", 1280, 32, "gelu", 1280),
    ("clip_l", "tiny"): _preset("clip_l", 64, 2, "quick_gelu", None),
    ("clip_h", "tiny"): _preset("clip_h", 96, 3, "gelu", 96),
    ("clip_g", "tiny"): _preset("clip_g", 128, 3, "gelu", 128),
}


class ClipTextEncoder(nn.Module):
    """CLIP's text transformer (clip_transformer.py; + optional projection) under checkpoint parameter names.

    `forward(input_ids)` returns, as transformers' CLIPTextModel does, `hidden_states` (embeddings
    output, then every layer's output), `last_hidden_state` (after the final layer norm) and
    `pooler_output` (final-normed state at the first end token), plus `text_embeds` (the
    projected pooled output) when the model has a projection.
    """

    def __init__(self, config: TextEncoderConfig):
        super().__init__()
        self.config = config
        self.text_model = ClipTextTransformer(
            vocab_size=config.vocab_size, hidden_size=config.hidden_size, num_layers=config.num_layers,
            num_heads=config.num_heads, intermediate_size=config.intermediate_size, hidden_act=config.hidden_act,
            max_positions=config.max_positions, end_token=END_TOKEN)
        if config.projection_dim is not None:
            self.text_projection = nn.Linear(config.hidden_size, config.projection_dim, bias=False)
        else:
            self.text_projection = None
        self.requires_grad_(False)
        self.eval()

    @property
    def num_layers(self) -> int:
        return self.config.num_layers

    def forward(self, input_ids: torch.Tensor):
        out = self.text_model(input_ids)
        if self.text_projection is not None:
            out["text_embeds"] = self.text_projection(out.pooler_output)
        return out

    def load_weights(self, state_dict: Mapping[str, torch.Tensor], *, strict: bool = True) -> list[str]:
        """Load an HF-layout text encoder state dict (use `openclip_to_hf` first for OpenCLIP files).

        Returns the keys that were ignored (`logit_scale`, `position_ids`, ...). With strict,
        a missing weight or a shape mismatch raises TextEncoderError naming the key.
        """
        to_load, ignored = _select_weights(self.state_dict(), state_dict, strict=strict)
        self.load_state_dict(to_load, strict=False, assign=False)
        return ignored


def _select_weights(
    own: Mapping[str, torch.Tensor], state_dict: Mapping[str, torch.Tensor], *, strict: bool
) -> tuple[dict[str, torch.Tensor], list[str]]:
    """`(weights the model has, keys it has not)`; a wrong shape (or, with strict, a missing
    weight other than the `position_ids` buffer) raises TextEncoderError naming the key."""
    ignored = []
    to_load = {}
    for key, value in state_dict.items():
        if key not in own:
            ignored.append(key)
            continue
        if tuple(own[key].shape) != tuple(value.shape):
            raise TextEncoderError(
                f"text encoder weight {key}: shape {tuple(value.shape)} does not fit the model's {tuple(own[key].shape)}"
            )
        to_load[key] = value
    missing = [k for k in own if k not in to_load and not k.endswith("position_ids")]
    if strict and missing:
        raise TextEncoderError(f"text encoder weights missing {len(missing)} keys, e.g. {missing[:3]}")
    return to_load, ignored


def build_text_encoder(config: TextEncoderConfig) -> ClipTextEncoder:
    """A randomly initialised CLIP text encoder of this shape (load weights with `load_weights`)."""
    return ClipTextEncoder(config)


def text_encoder_from_weights(
    config: TextEncoderConfig,
    state_dict: Mapping[str, torch.Tensor],
    *,
    dtype: torch.dtype,
    device: torch.device | str = "cpu",
    on_converted: Callable[[str, torch.Tensor], None] | None = None,
) -> ClipTextEncoder:
    """A ClipTextEncoder whose parameters are `state_dict`'s tensors (HF layout), built without
    ever allocating a model of its own.

    The module is built on the meta device; each weight is converted to `dtype` on `device`
    (one already there is used as is, so memory-mapped weights stay views of the file) and
    assigned with `load_state_dict(assign=True)`. `on_converted(key, tensor)` is called after
    each weight is converted, so a caller can drop the source's pages. The non-persistent
    `position_ids` buffer is created afresh. Keys the model lacks are ignored; a missing,
    misshapen or non-float weight raises TextEncoderError naming the key.
    """
    with torch.device("meta"):
        encoder = ClipTextEncoder(config)
    own = encoder.state_dict()
    to_load, _ignored = _select_weights(own, state_dict, strict=True)
    converted = {}
    for key in own:
        if key.endswith("position_ids"):
            continue  # an index buffer, not a weight: made below whatever the file holds
        tensor = to_load[key].detach()
        if not tensor.is_floating_point():
            raise TextEncoderError(f"text encoder weight {key} has non-float dtype {tensor.dtype}")
        converted[key] = tensor.to(device=device, dtype=dtype)
        if on_converted is not None:
            on_converted(key, converted[key])
    encoder.load_state_dict(converted, strict=False, assign=True)
    _make_position_ids(encoder, device)
    unset = [name for name, t in [*encoder.named_parameters(), *encoder.named_buffers()] if t.is_meta]
    if unset:
        raise TextEncoderError(f"text encoder tensors left without values: {unset[:3]}")
    return encoder.requires_grad_(False).eval()


def _make_position_ids(encoder: ClipTextEncoder, device: torch.device | str) -> None:
    """Create the position-id buffer `[[0, 1, ..., positions-1]]` (int64), as transformers does."""
    embeddings = encoder.text_model.embeddings
    if hasattr(embeddings, "position_ids"):
        count = embeddings.position_embedding.weight.shape[0]
        embeddings.position_ids = torch.arange(count, device=device).unsqueeze(0)


_LAYER_KEY = re.compile(r"^text_model\.encoder\.layers\.(\d+)\.")


def text_encoder_config_from_state_dict(sd: Mapping[str, torch.Tensor]) -> TextEncoderConfig:
    """Infer the tower's shape from an HF-layout state dict (convert OpenCLIP layout first).

    Layers are counted, widths read from the embeddings and MLP, heads follow CLIP's
    64-wide convention. The kind (and so the activation: quick_gelu for OpenAI's ViT-L,
    gelu for the OpenCLIP towers) comes from the preset shapes, else from the size.
    """
    token_key = "text_model.embeddings.token_embedding.weight"
    if token_key not in sd:
        if "transformer.resblocks.0.ln_1.weight" in sd:
            raise TextEncoderError("state dict is in the OpenCLIP layout; convert it with openclip_to_hf first")
        raise TextEncoderError(f"not a CLIP text encoder state dict: no {token_key}")
    vocab, hidden = sd[token_key].shape
    positions = sd["text_model.embeddings.position_embedding.weight"].shape[0]
    layer_ids = {int(m.group(1)) for k in sd for m in [_LAYER_KEY.match(k)] if m}
    if not layer_ids:
        raise TextEncoderError("CLIP text encoder state dict has no encoder layers")
    num_layers = max(layer_ids) + 1
    intermediate = sd["text_model.encoder.layers.0.mlp.fc1.weight"].shape[0]
    projection = sd["text_projection.weight"].shape[0] if "text_projection.weight" in sd else None
    kind = _guess_kind(num_layers, hidden, projection)
    # OpenAI's ViT-L text tower uses quick_gelu; the OpenCLIP towers (H, bigG) use gelu.
    act = "quick_gelu" if kind == "clip_l" else "gelu"
    return TextEncoderConfig(
        kind=kind,
        hidden_size=int(hidden),
        num_layers=num_layers,
        num_heads=max(1, int(hidden) // HEAD_DIM),
        intermediate_size=int(intermediate),
        hidden_act=act,
        projection_dim=int(projection) if projection is not None else None,
        vocab_size=int(vocab),
        max_positions=int(positions),
    )


def _guess_kind(num_layers: int, hidden: int, projection: int | None) -> str:
    for (kind, _size), preset in _PRESETS.items():
        if preset.num_layers == num_layers and preset.hidden_size == hidden:
            return kind
    if hidden >= 1280 or num_layers >= 30:
        return "clip_g"
    if hidden >= 1024 or num_layers >= 22:
        return "clip_h"
    return "clip_l" if projection is None else "clip_g"


def with_kind(config: TextEncoderConfig, kind: str) -> TextEncoderConfig:
    """The same shape labelled (and activated) as `kind`, when the caller knows better than the shapes."""
    act = "quick_gelu" if kind == "clip_l" else "gelu"
    return dataclasses.replace(config, kind=kind, hidden_act=act)


# --- OpenCLIP <-> Hugging Face layout -------------------------------------------------------

_OPENCLIP_TOP = {
    "token_embedding.weight": "text_model.embeddings.token_embedding.weight",
    "positional_embedding": "text_model.embeddings.position_embedding.weight",
    "ln_final.weight": "text_model.final_layer_norm.weight",
    "ln_final.bias": "text_model.final_layer_norm.bias",
}
_OPENCLIP_BLOCK = {
    "ln_1": "layer_norm1",
    "ln_2": "layer_norm2",
    "attn.out_proj": "self_attn.out_proj",
    "mlp.c_fc": "mlp.fc1",
    "mlp.c_proj": "mlp.fc2",
}
_RESBLOCK = re.compile(r"^transformer\.resblocks\.(\d+)\.(.+)\.(weight|bias)$")
_RESBLOCK_INPROJ = re.compile(r"^transformer\.resblocks\.(\d+)\.attn\.in_proj_(weight|bias)$")
_HF_LAYER = re.compile(r"^text_model\.encoder\.layers\.(\d+)\.(.+)\.(weight|bias)$")
# Keys carried unchanged in both directions (ignored by the model when loading).
_PASSTHROUGH = ("logit_scale",)
# OpenCLIP buffers that are not weights.
_DROPPED = ("attn_mask",)


def openclip_to_hf(sd: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Convert an OpenCLIP text tower state dict (prefix already stripped) to the HF layout.

    `in_proj_weight`/`in_proj_bias` are split into q/k/v, `text_projection` is transposed into
    a Linear weight, `logit_scale` is kept as is, the `attn_mask` buffer is dropped. Any other
    key raises TextEncoderError naming it (nothing is silently lost).
    """
    out: dict[str, torch.Tensor] = {}
    for key, value in sd.items():
        if key in _OPENCLIP_TOP:
            out[_OPENCLIP_TOP[key]] = value
        elif key == "text_projection":
            out["text_projection.weight"] = value.t().contiguous()
        elif key in _PASSTHROUGH:
            out[key] = value
        elif key in _DROPPED:
            continue
        elif m := _RESBLOCK_INPROJ.match(key):
            layer, kind = m.groups()
            if value.ndim == 0 or value.shape[0] % 3 or (value.ndim == 2 and value.shape[0] != 3 * value.shape[1]):
                raise TextEncoderError(f"{key}: shape {tuple(value.shape)} is not three stacked projections")
            for name, part in zip(("q_proj", "k_proj", "v_proj"), value.chunk(3, dim=0), strict=True):
                out[f"text_model.encoder.layers.{layer}.self_attn.{name}.{kind}"] = part.contiguous()
        elif (m := _RESBLOCK.match(key)) and m.group(2) in _OPENCLIP_BLOCK:
            layer, module, kind = m.groups()
            out[f"text_model.encoder.layers.{layer}.{_OPENCLIP_BLOCK[module]}.{kind}"] = value
        else:
            raise TextEncoderError(f"unexpected key in OpenCLIP text encoder weights: {key}")
    return out


def hf_to_openclip(sd: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Exact inverse of `openclip_to_hf`: merge q/k/v into `in_proj_*`, transpose the projection."""
    top = {hf: oc for oc, hf in _OPENCLIP_TOP.items()}
    block = {hf: oc for oc, hf in _OPENCLIP_BLOCK.items()}
    out: dict[str, torch.Tensor] = {}
    qkv: dict[tuple[str, str], dict[str, torch.Tensor]] = {}
    for key, value in sd.items():
        if key in top:
            out[top[key]] = value
        elif key == "text_projection.weight":
            out["text_projection"] = value.t().contiguous()
        elif key in _PASSTHROUGH:
            out[key] = value
        elif key.endswith("position_ids"):
            continue
        elif m := _HF_LAYER.match(key):
            layer, module, kind = m.groups()
            if module in ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"):
                qkv.setdefault((layer, kind), {})[module.split(".")[1]] = value
            elif module in block:
                out[f"transformer.resblocks.{layer}.{block[module]}.{kind}"] = value
            else:
                raise TextEncoderError(f"unexpected key in HF text encoder weights: {key}")
        else:
            raise TextEncoderError(f"unexpected key in HF text encoder weights: {key}")
    for (layer, kind), parts in qkv.items():
        if set(parts) != {"q_proj", "k_proj", "v_proj"}:
            raise TextEncoderError(f"layer {layer} {kind}: q/k/v projections incomplete ({sorted(parts)})")
        merged = torch.cat([parts["q_proj"], parts["k_proj"], parts["v_proj"]], dim=0)
        out[f"transformer.resblocks.{layer}.attn.in_proj_{kind}"] = merged
    return out


def is_openclip_layout(sd: Mapping[str, torch.Tensor]) -> bool:
    """True when the keys are OpenCLIP's (`transformer.resblocks.N...`), prefix already stripped."""
    return "transformer.resblocks.0.ln_1.weight" in sd or "token_embedding.weight" in sd
