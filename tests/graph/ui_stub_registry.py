"""A small registry of stub node types for the document/conversion tests.

Input order, types, defaults and display names follow ComfyUI's real classes
(reference section 8), because the widget order of saved workflows depends on them.
The stubs never run: conversion only needs their schemas.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from graph.schema import InputSpec, NodeOutput, NodeSchema, OutputSpec

MAX_RESOLUTION = 16384
SAMPLERS = ("euler", "euler_ancestral", "heun", "dpmpp_2m", "dpmpp_2m_sde", "ddim", "uni_pc")
SCHEDULERS = ("simple", "sgm_uniform", "karras", "exponential", "ddim_uniform", "beta", "normal")
CHECKPOINTS = ("sd_xl_base_1.0.safetensors", "v1-5-pruned-emaonly-fp16.safetensors")


def _int(name: str, default: int, lo: int, hi: int, **extra: Any) -> InputSpec:
    return InputSpec(name, "INT", options={"default": default, "min": lo, "max": hi, **extra})


def _float(name: str, default: float, lo: float, hi: float, **extra: Any) -> InputSpec:
    return InputSpec(name, "FLOAT", options={"default": default, "min": lo, "max": hi, **extra})


def _combo(name: str, choices: Sequence[Any], **extra: Any) -> InputSpec:
    return InputSpec(name, "COMBO", options=dict(extra), choices=tuple(choices))


def _socket(name: str, type_: str, required: bool = True) -> InputSpec:
    return InputSpec(name, type_, required=required)


def _out(*types: str) -> tuple[OutputSpec, ...]:
    return tuple(OutputSpec(t, t) for t in types)


SCHEMAS = [
    NodeSchema(
        "CheckpointLoaderSimple",
        (_combo("ckpt_name", CHECKPOINTS),),
        _out("MODEL", "CLIP", "VAE"),
        display_name="Load Checkpoint",
        category="loaders",
    ),
    NodeSchema(
        "CLIPTextEncode",
        (InputSpec("text", "STRING", options={"multiline": True, "dynamicPrompts": True}), _socket("clip", "CLIP")),
        _out("CONDITIONING"),
        display_name="CLIP Text Encode (Prompt)",
        category="conditioning",
    ),
    NodeSchema(
        "EmptyLatentImage",
        (
            _int("width", 512, 16, MAX_RESOLUTION, step=8),
            _int("height", 512, 16, MAX_RESOLUTION, step=8),
            _int("batch_size", 1, 1, 4096),
        ),
        _out("LATENT"),
        display_name="Empty Latent Image",
        category="latent",
    ),
    NodeSchema(
        "KSampler",
        (
            _socket("model", "MODEL"),
            _int("seed", 0, 0, 0xFFFFFFFFFFFFFFFF, control_after_generate=True),
            _int("steps", 20, 1, 10000),
            _float("cfg", 8.0, 0.0, 100.0, step=0.1, round=0.01),
            _combo("sampler_name", SAMPLERS),
            _combo("scheduler", SCHEDULERS),
            _socket("positive", "CONDITIONING"),
            _socket("negative", "CONDITIONING"),
            _socket("latent_image", "LATENT"),
            _float("denoise", 1.0, 0.0, 1.0, step=0.01),
        ),
        _out("LATENT"),
        display_name="KSampler",
        category="sampling",
    ),
    NodeSchema(
        "VAEDecode",
        (_socket("samples", "LATENT"), _socket("vae", "VAE")),
        _out("IMAGE"),
        display_name="VAE Decode",
        category="latent",
    ),
    NodeSchema(
        "VAEEncode",
        (_socket("pixels", "IMAGE"), _socket("vae", "VAE")),
        _out("LATENT"),
        display_name="VAE Encode",
        category="latent",
    ),
    NodeSchema(
        "SaveImage",
        (_socket("images", "IMAGE"), InputSpec("filename_prefix", "STRING", options={"default": "ComfyUI"})),
        (),
        hidden=(("prompt", "PROMPT"), ("extra_pnginfo", "EXTRA_PNGINFO")),
        output_node=True,
        display_name="Save Image",
        category="image",
    ),
    NodeSchema(
        "PreviewImage",
        (_socket("images", "IMAGE"),),
        (),
        output_node=True,
        display_name="Preview Image",
        category="image",
    ),
    NodeSchema(
        "LoadImage",
        (_combo("image", ("example.png", "cat.png"), image_upload=True),),
        _out("IMAGE", "MASK"),
        display_name="Load Image",
        category="image",
    ),
    NodeSchema(
        "LoraLoader",
        (
            _socket("model", "MODEL"),
            _socket("clip", "CLIP"),
            _combo("lora_name", ("style.safetensors",)),
            _float("strength_model", 1.0, -100.0, 100.0, step=0.01),
            _float("strength_clip", 1.0, -100.0, 100.0, step=0.01),
        ),
        _out("MODEL", "CLIP"),
        display_name="Load LoRA",
        category="loaders",
    ),
    NodeSchema(
        "LatentUpscaleBy",
        (
            _socket("samples", "LATENT"),
            _combo("upscale_method", ("nearest-exact", "bilinear", "area", "bicubic", "bislerp")),
            _float("scale_by", 1.5, 0.01, 8.0, step=0.01),
        ),
        _out("LATENT"),
        display_name="Upscale Latent By",
        category="latent",
    ),
    NodeSchema(
        "PrimitiveInt",
        (_int("value", 0, -(2**63), 2**63 - 1, control_after_generate=True),),
        _out("INT"),
        display_name="Int",
        category="utils/primitive",
    ),
    NodeSchema(
        "PrimitiveString",
        (InputSpec("value", "STRING"),),
        _out("STRING"),
        display_name="String",
        category="utils/primitive",
    ),
    # Not ComfyUI nodes: an optional widget, a forceInput widget type and a list-valued widget.
    NodeSchema(
        "StubOptions",
        (
            _socket("latent", "LATENT"),
            InputSpec("count", "INT", options={"forceInput": True}),
            _combo("tags", ("a", "b", "c"), multiselect=True),
            InputSpec("note", "STRING", required=False, options={"default": "hello"}),
        ),
        _out("LATENT"),
        display_name="Stub Options",
    ),
]


class StubNodeType:
    """Only `schema()` matters here; the rest satisfies graph.schema.NodeType."""

    def __init__(self, schema: NodeSchema) -> None:
        self._schema = schema

    def schema(self) -> NodeSchema:
        return self._schema

    def fingerprint(self, inputs: Mapping[str, Any]) -> Any:
        return None

    def validate(self, inputs: Mapping[str, Any], input_types: Mapping[str, str] | None) -> list:
        return []

    def check_lazy_status(self, context: Any, inputs: Mapping[str, Any]) -> Sequence[str]:
        return []

    def execute(self, context: Any, inputs: Mapping[str, Any]) -> NodeOutput:
        raise NotImplementedError("stub node types are for conversion tests only")


class StubRegistry:
    def __init__(self, schemas: Sequence[NodeSchema] = SCHEMAS) -> None:
        self._types = {s.class_type: StubNodeType(s) for s in schemas}

    def get(self, class_type: str) -> StubNodeType | None:
        return self._types.get(class_type)

    def class_types(self) -> list[str]:
        return list(self._types)


# --- small builders for hand-written UI workflows --------------------------------------------


def slot(name: str, type_: str, link: int | None = None, widget: str | None = None) -> dict:
    """A saved input slot; `widget` marks a converted widget input."""
    out: dict[str, Any] = {"name": name, "type": type_, "link": link}
    if widget is not None:
        out["widget"] = {"name": widget}
    return out


def ui_node(
    node_id: Any,
    type_: str,
    *,
    inputs: Sequence[dict] = (),
    outputs: Sequence[str] = (),
    values: Any = None,
    mode: int = 0,
    title: str | None = None,
) -> dict:
    """A saved node; `outputs` lists output types (links are read from the link table)."""
    out: dict[str, Any] = {
        "id": node_id,
        "type": type_,
        "pos": [0, 0],
        "size": [200, 100],
        "flags": {},
        "order": 0,
        "mode": mode,
        "inputs": list(inputs),
        "outputs": [{"name": t, "type": t, "links": []} for t in outputs],
        "properties": {},
    }
    if values is not None:
        out["widgets_values"] = values
    if title is not None:
        out["title"] = title
    return out


def workflow(nodes: Sequence[dict], links: Sequence[list], **extra: Any) -> dict:
    """A version-0.4 workflow with link arrays [id, origin, origin_slot, target, target_slot, type]."""
    return {
        "last_node_id": 99,
        "last_link_id": 99,
        "nodes": list(nodes),
        "links": list(links),
        "groups": [],
        "config": {},
        "extra": {},
        "version": 0.4,
        **extra,
    }
