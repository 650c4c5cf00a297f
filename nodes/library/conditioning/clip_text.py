"""Conditioning nodes that run a text encoder: CLIPTextEncode, CLIPSetLastLayer and the SDXL encoders.

A CONDITIONING is a list of [cond [1, tokens, dim], dict] pairs; these nodes put the pooled
text embedding in the dict as `pooled_output`, and the SDXL ones also the size fields
(`width`, `height`, `crop_w`, `crop_h`, `target_width`, `target_height`, or the refiner's
`aesthetic_score`) from which the sampler builds SDXL's vector conditioning.
Ids, inputs, defaults and output order are ComfyUI's (nodes.py, comfy_extras/nodes_clip_sdxl.py).
"""

from __future__ import annotations

from typing import Any

from nodes.api.declare import Float, Int, Node, Out, Socket, String

MAX_RESOLUTION = 16384


def require_clip(clip: Any, node: str, input_name: str = "clip") -> Any:
    """`clip` if it is a CLIP handle, else a clear error (a checkpoint without a text encoder gives None)."""
    if clip is None:
        raise RuntimeError(f"{node}: input '{input_name}' is None: the checkpoint or loader gave no text encoder. "
                           "Load one with CLIPLoader, or use a checkpoint that contains one.")
    if not callable(getattr(clip, "encode", None)) or not callable(getattr(clip, "patchers", None)):
        raise TypeError(f"{node}: input '{input_name}' must be a CLIP, got {type(clip).__name__}")
    return clip


def _encode(ctx: Any, clip: Any, encode) -> tuple:
    ctx.runtime.models.load(clip.patchers())
    return encode()


def _conditioning(cond, pooled, **values: Any) -> list:
    options: dict[str, Any] = {"pooled_output": pooled} if pooled is not None else {}
    options.update(values)
    return [[cond, options]]


class CLIPTextEncode(Node):
    node_id = "CLIPTextEncode"
    display_name = "CLIP Text Encode (Prompt)"
    category = "conditioning"
    description = ("Encodes a text prompt using a CLIP model into an embedding that can be used to guide "
                   "the diffusion model towards generating specific images.")
    inputs = [
        String("text", multiline=True, dynamic_prompts=True, tooltip="The text to be encoded."),
        Socket("CLIP", "clip", tooltip="The CLIP model used for encoding the text."),
    ]
    outputs = [Out("CONDITIONING", tooltip="A conditioning containing the embedded text used to guide the "
                                           "diffusion model.")]

    @classmethod
    def run(cls, ctx: Any, *, text: str, clip: Any = None) -> tuple:
        clip = require_clip(clip, cls.node_id)
        cond, pooled = _encode(ctx, clip, lambda: clip.encode(text))
        return (_conditioning(cond, pooled),)


class CLIPSetLastLayer(Node):
    node_id = "CLIPSetLastLayer"
    display_name = "CLIP Set Last Layer"
    category = "conditioning"
    inputs = [Socket("CLIP", "clip"), Int("stop_at_clip_layer", default=-1, min=-24, max=-1, step=1)]
    outputs = [Out("CLIP")]

    @classmethod
    def run(cls, ctx: Any, *, clip: Any, stop_at_clip_layer: int) -> tuple:
        clip = require_clip(clip, cls.node_id).clone()
        clip.set_clip_skip(stop_at_clip_layer)
        return (clip,)


def _size(name: str, default: int = 1024) -> Int:
    return Int(name, default=default, min=0, max=MAX_RESOLUTION)


class CLIPTextEncodeSDXL(Node):
    node_id = "CLIPTextEncodeSDXL"
    display_name = "CLIPTextEncodeSDXL"
    category = "advanced/conditioning"
    inputs = [
        Socket("CLIP", "clip"),
        _size("width"), _size("height"), _size("crop_w", 0), _size("crop_h", 0),
        _size("target_width"), _size("target_height"),
        String("text_g", multiline=True, dynamic_prompts=True),
        String("text_l", multiline=True, dynamic_prompts=True),
    ]
    outputs = [Out("CONDITIONING")]

    @classmethod
    def run(cls, ctx: Any, *, clip: Any, width: int, height: int, crop_w: int, crop_h: int, target_width: int,
            target_height: int, text_g: str, text_l: str) -> tuple:
        clip = require_clip(clip, cls.node_id)
        if getattr(clip, "family", None) != "sdxl":
            raise ValueError(f"{cls.node_id}: input 'clip' must be an SDXL base text encoder (CLIP-L + CLIP-G), "
                             f"got a {getattr(clip, 'family', type(clip).__name__)} one; use CLIPTextEncode")
        cond, pooled = _encode(ctx, clip, lambda: clip.encode_sdxl(text_g, text_l))
        return (_conditioning(cond, pooled, width=width, height=height, crop_w=crop_w, crop_h=crop_h,
                              target_width=target_width, target_height=target_height),)


class CLIPTextEncodeSDXLRefiner(Node):
    node_id = "CLIPTextEncodeSDXLRefiner"
    display_name = "CLIPTextEncodeSDXLRefiner"
    category = "advanced/conditioning"
    inputs = [
        Float("ascore", default=6.0, min=0.0, max=1000.0, step=0.01),
        _size("width"), _size("height"),
        String("text", multiline=True, dynamic_prompts=True),
        Socket("CLIP", "clip"),
    ]
    outputs = [Out("CONDITIONING")]

    @classmethod
    def run(cls, ctx: Any, *, ascore: float, width: int, height: int, text: str, clip: Any) -> tuple:
        clip = require_clip(clip, cls.node_id)
        cond, pooled = _encode(ctx, clip, lambda: clip.encode(text))
        return (_conditioning(cond, pooled, aesthetic_score=ascore, width=width, height=height),)


NODES = [CLIPTextEncode, CLIPSetLastLayer, CLIPTextEncodeSDXL, CLIPTextEncodeSDXLRefiner]
