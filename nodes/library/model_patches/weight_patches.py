"""UNetSelfAttentionMultiply, UNetCrossAttentionMultiply, CLIPAttentionMultiply (ComfyUI's attention multiply).

Each multiplies the q/k/v/out projection weights and biases of every self-attention (attn1) or
cross-attention (attn2) of the UNet, or every self-attention of the text encoders, by its factor:
a "scale" weight patch on a clone (diffusion/memory/patcher.py), so the input is unchanged and
the base weights are never written. A factor of 1 adds no patch.
"""

from __future__ import annotations

from typing import Any

from nodes.api.declare import Float, Node, Out, Socket
from nodes.library.conditioning.clip_text import require_clip
from nodes.library.model_patches.checks import number

FACTOR = {"default": 1.0, "min": 0.0, "max": 10.0, "step": 0.01}
UNET_PROJECTIONS = {"q": "to_q", "k": "to_k", "v": "to_v", "out": "to_out.0"}
CLIP_PROJECTIONS = {"q": "self_attn.q_proj", "k": "self_attn.k_proj", "v": "self_attn.v_proj",
                    "out": "self_attn.out_proj"}


def scale_patches(names: set[str], prefix: str, projections: dict[str, str],
                  factors: dict[str, float]) -> dict[float, dict[str, tuple]]:
    """{factor: {param: ("scale", ())}} for the weight and bias of each `prefix`.<projection> named in `names`."""
    by_factor: dict[float, dict[str, tuple]] = {}
    for key, projection in projections.items():
        factor = factors[key]
        if factor == 1.0:
            continue
        ends = (f"{prefix}{projection}.weight", f"{prefix}{projection}.bias")
        for name in sorted(names):
            if name.endswith(ends):
                by_factor.setdefault(factor, {})[name] = ("scale", ())
    return by_factor


def _factors(node: str, q: float, k: float, v: float, out: float) -> dict[str, float]:
    return {name: number(node, name, value, 0.0, 10.0) for name, value in (("q", q), ("k", k), ("v", v),
                                                                            ("out", out))}


class _UNetAttentionMultiply(Node):
    category = "_for_testing/attention_experiments"
    experimental = True
    attention = "attn1"
    inputs = [Socket("MODEL", "model"), Float("q", **FACTOR), Float("k", **FACTOR), Float("v", **FACTOR),
              Float("out", **FACTOR)]
    outputs = [Out("MODEL")]

    @classmethod
    def run(cls, ctx: Any, *, model: Any, q: float, k: float, v: float, out: float) -> tuple:
        factors = _factors(cls.node_id, q, k, v, out)
        if not callable(getattr(model, "add_patches", None)) or not callable(getattr(model, "clone", None)):
            raise TypeError(f"{cls.node_id}: input 'model' must be a MODEL, got {type(model).__name__}")
        patched = model.clone()
        names = patched.parameter_names()
        for factor, patches in scale_patches(names, f"{cls.attention}.", UNET_PROJECTIONS, factors).items():
            patched.add_patches(patches, factor, source=f"{cls.node_id}:{factor!r}")
        return (patched,)


class UNetSelfAttentionMultiply(_UNetAttentionMultiply):
    node_id = "UNetSelfAttentionMultiply"
    description = "Multiplies the q, k, v and output projections of the UNet's self-attention layers."
    attention = "attn1"


class UNetCrossAttentionMultiply(_UNetAttentionMultiply):
    node_id = "UNetCrossAttentionMultiply"
    description = "Multiplies the q, k, v and output projections of the UNet's cross-attention layers."
    attention = "attn2"


class CLIPAttentionMultiply(Node):
    node_id = "CLIPAttentionMultiply"
    category = "_for_testing/attention_experiments"
    experimental = True
    description = "Multiplies the q, k, v and output projections of the text encoders' self-attention layers."
    inputs = [Socket("CLIP", "clip"), Float("q", **FACTOR), Float("k", **FACTOR), Float("v", **FACTOR),
              Float("out", **FACTOR)]
    outputs = [Out("CLIP")]

    @classmethod
    def run(cls, ctx: Any, *, clip: Any, q: float, k: float, v: float, out: float) -> tuple:
        factors = _factors(cls.node_id, q, k, v, out)
        patched = require_clip(clip, cls.node_id).clone()
        for encoder, patcher in patched.encoders.items():
            for factor, patches in scale_patches(patcher.parameter_names(), "", CLIP_PROJECTIONS, factors).items():
                patched.add_patches({encoder: patches}, factor, source=f"{cls.node_id}:{factor!r}")
        return (patched,)


NODES = [UNetSelfAttentionMultiply, UNetCrossAttentionMultiply, CLIPAttentionMultiply]
