"""StyleModelLoader and StyleModelApply (ComfyUI's ids): T2I-Adapter style tokens added to the text context.

StyleModelApply runs the style model on the CLIP vision output's last_hidden_state, flattens the
batch into one row of tokens [1, B * tokens, context] and appends them to every entry's tensor:
- strength_type "multiply": the tokens are multiplied by `strength`;
- strength_type "attn_bias" (and whenever an entry already has an `attention_mask`): the tokens
  are appended unscaled and the entry gets ComfyUI's `attention_mask`, an additive bias of
  log(strength) on attention to the new tokens (the old mask kept in its quadrants). As in
  ComfyUI, SD1.x/SD2.x/SDXL UNets do not read `attention_mask` (Flux does), so there attn_bias
  only appends the tokens.
"""

from __future__ import annotations

import math
from typing import Any

from nodes.api.declare import Combo, FileList, Float, Node, Out, Socket
from nodes.api.lazy import lazy_import
from nodes.library.conditioning.edit import require_conditioning
from nodes.library.loaders.model_loaders import ModelFileLoader
from nodes.library.vision.clip_vision_nodes import require_clip_vision_output

torch = lazy_import("torch")
checkpoint_files = lazy_import("diffusion.checkpoints.checkpoint")
adapter = lazy_import("diffusion.models.style_model.adapter")
model_services = lazy_import("nodes.api.model_services")

STRENGTH_TYPES = ("multiply", "attn_bias")


class StyleModelLoader(ModelFileLoader):
    node_id = "StyleModelLoader"
    display_name = "Load Style Model"
    category = "loaders"
    description = "Loads a T2I-Adapter style model (t2iadapter_style) from the style_models folder."
    file_input = Combo("style_model_name", FileList("style_models"))
    inputs = [file_input]
    outputs = [Out("STYLE_MODEL")]

    @classmethod
    def run(cls, ctx: Any, *, style_model_name: str) -> tuple:
        return cls.load_shared(ctx, style_model_name, "style_model", lambda path: adapter.StyleAdapter.from_state_dict(
            checkpoint_files.load_state_dict(path), str(path)), refuse=(adapter.StyleModelError,))


def _biased_mask(txt, options: dict, n: int, bias: float):
    """ComfyUI's attention_mask grown by `n` style tokens after the text, with `bias` towards them."""
    ref_h, ref_w = options.get("attention_mask_img_shape", (1, 1))
    n_ref, n_txt = ref_h * ref_w, txt.shape[1]
    mask = options.get("attention_mask")
    if mask is None:
        mask = torch.zeros((txt.shape[0], n_txt + n_ref, n_txt + n_ref), dtype=torch.float16)
    if mask.dtype == torch.bool:
        mask = torch.log(mask.to(torch.float16))
    size = n_txt + n + n_ref
    grown = torch.zeros((txt.shape[0], size, size), dtype=torch.float16)
    grown[:, :n_txt, :n_txt] = mask[:, :n_txt, :n_txt]
    grown[:, :n_txt, n_txt + n:] = mask[:, :n_txt, n_txt:]
    grown[:, n_txt + n:, :n_txt] = mask[:, n_txt:, :n_txt]
    grown[:, n_txt + n:, n_txt + n:] = mask[:, n_txt:, n_txt:]
    grown[:, :n_txt, n_txt:n_txt + n] = bias
    grown[:, n_txt + n:, n_txt:n_txt + n] = bias
    return grown.to(txt.device), (ref_h, ref_w)


class StyleModelApply(Node):
    node_id = "StyleModelApply"
    display_name = "Apply Style Model"
    category = "conditioning/style_model"
    description = ("Appends a style model's image tokens to the text conditioning; strength multiplies them "
                   "(multiply) or biases attention to them (attn_bias, read by models that use attention masks).")
    inputs = [
        Socket("CONDITIONING", "conditioning"),
        Socket("STYLE_MODEL", "style_model"),
        Socket("CLIP_VISION_OUTPUT", "clip_vision_output"),
        Float("strength", default=1.0, min=0.0, max=10.0, step=0.001),
        Combo("strength_type", STRENGTH_TYPES),
    ]
    outputs = [Out("CONDITIONING")]

    @classmethod
    def run(cls, ctx: Any, *, conditioning: Any, style_model: Any, clip_vision_output: Any, strength: float,
            strength_type: str) -> tuple:
        conditioning = require_conditioning(conditioning, cls.node_id, token_tensors=True)
        output = require_clip_vision_output(clip_vision_output, cls.node_id)
        if not isinstance(style_model, adapter.StyleAdapter):
            raise TypeError(f"{cls.node_id}: input 'style_model' must be a STYLE_MODEL (from StyleModelLoader), "
                            f"got {type(style_model).__name__}")
        if strength_type not in STRENGTH_TYPES:
            raise ValueError(f"{cls.node_id}: input 'strength_type' must be one of {', '.join(STRENGTH_TYPES)}")
        services = ctx.runtime.models if getattr(ctx, "runtime", None) is not None else None
        if services is not None:  # counted and evicted like every model; it runs on the compute device
            services.load([model_services.managed_patcher(style_model, services.choice)])
        try:
            with torch.no_grad():
                tokens = style_model(output["last_hidden_state"].cpu().float()).float().cpu()
        except adapter.StyleModelError as exc:
            raise ValueError(f"{cls.node_id}: {exc}") from None
        tokens = tokens.flatten(0, 1).unsqueeze(0)
        if strength_type == "multiply":
            tokens = tokens * strength
        out = []
        for index, (txt, options) in enumerate(conditioning):
            if txt.shape[-1] != tokens.shape[-1]:
                raise ValueError(f"{cls.node_id}: the style model makes tokens {tokens.shape[-1]} wide but "
                                 f"conditioning entry {index} is {txt.shape[-1]} wide (a style model for another "
                                 "model's text encoder)")
            options = dict(options)
            if "attention_mask" in options or (strength_type == "attn_bias" and strength != 1.0):
                bias = math.log(strength) if strength_type == "attn_bias" and strength > 0 else (
                    -math.inf if strength_type == "attn_bias" else 0.0)
                options["attention_mask"], options["attention_mask_img_shape"] = _biased_mask(
                    txt, options, tokens.shape[1], bias)
            style = tokens.to(txt.dtype).expand(txt.shape[0], -1, -1)
            out.append([torch.cat([txt, style], dim=1), options])
        return (out,)


NODES = [StyleModelLoader, StyleModelApply]
