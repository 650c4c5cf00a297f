"""LORA_MODEL nodes (ComfyUI's comfy_extras/nodes_train.py): LoraModelLoader and SaveLoRA.

A LORA_MODEL is a plain dict of LoRA tensors in a LoRA file's key layout (ComfyUI's trainer
makes them with `diffusion_model.<module>.lora_up.weight` / `.lora_down.weight` / `.diff` /
`.diff_b` keys; any layout LoraLoader reads works). LoraModelLoader applies one to a clone
of the model (the input is unchanged); SaveLoRA writes one to the output folder as
`<prefix>_00001_.safetensors`, or `<prefix>_<steps>_steps_00001_.safetensors` with steps.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from typing import Any

from nodes.api.declare import Float, Int, Node, Out, Socket, String
from nodes.api.lazy import lazy_import
from nodes.library.model_merging.lora_extract import output_file
from nodes.library.output_files import SavesNamedFiles

lora_patching = lazy_import("diffusion.models.lora.lora")
saving = lazy_import("diffusion.checkpoints.save_checkpoint")
torch = lazy_import("torch")


def checked_lora_model(node: str, value: Any) -> dict:
    """`value` as a LORA_MODEL (names -> tensors), or a ValueError naming the input."""
    if not isinstance(value, Mapping) or not value:
        raise ValueError(f"{node}: input 'lora': expected a LORA_MODEL (a dict of LoRA tensors), "
                         f"got {type(value).__name__}")
    bad = [str(k) for k, v in value.items() if not isinstance(k, str) or not isinstance(v, torch.Tensor)]
    if bad:
        raise ValueError(f"{node}: input 'lora': entries that are not named tensors: {', '.join(bad[:5])}")
    return dict(value)


def content_label(tensors: Mapping[str, Any]) -> str:
    """A label that changes with the tensors' names, shapes and values (the patch source of cache keys)."""
    digest = hashlib.sha256()
    for key in sorted(tensors):
        tensor = tensors[key].detach().cpu().contiguous()
        digest.update(f"{key}:{tuple(tensor.shape)}:{tensor.dtype};".encode())
        digest.update(tensor.flatten().view(torch.uint8).numpy().tobytes() if tensor.numel() else b"")
    return "lora_model@" + digest.hexdigest()[:16]


def _log(ctx: Any) -> logging.Logger:
    return ctx.runtime.logger if ctx.runtime is not None else logging.getLogger("latentgraph.nodes")


class LoraModelLoader(Node):
    node_id = "LoraModelLoader"
    display_name = "Load LoRA Model"
    category = "loaders"
    experimental = True
    description = "Applies a LORA_MODEL (a dict of LoRA tensors) to the diffusion model."
    inputs = [
        Socket("MODEL", "model", tooltip="The diffusion model the LoRA will be applied to."),
        Socket("LORA_MODEL", "lora", tooltip="The LoRA model to apply to the diffusion model."),
        Float("strength_model", default=1.0, min=-100.0, max=100.0,
              tooltip="How strongly to modify the diffusion model. This value can be negative."),
    ]
    outputs = [Out("MODEL", "model", tooltip="The modified diffusion model.")]

    @classmethod
    def run(cls, ctx: Any, *, model: Any, lora: Any, strength_model: float) -> tuple:
        if strength_model == 0:
            return (model,)
        weights = checked_lora_model(cls.node_id, lora)
        try:
            new_model, _, report = lora_patching.apply_lora(model, None, weights, strength_model, 0.0,
                                                            source=content_label(weights))
        except lora_patching.LoraError as exc:
            raise type(exc)(f"{cls.node_id}: {exc}") from None
        if report.not_loaded:
            _log(ctx).warning("%s: %s", cls.node_id, report.summary())
        return (new_model,)


class SaveLoRA(SavesNamedFiles):
    node_id = "SaveLoRA"
    display_name = "Save LoRA Weights"
    category = "loaders"
    experimental = True
    output_node = True
    description = "Writes a LORA_MODEL to the output folder as a .safetensors LoRA file."
    hidden = ("PROMPT", "EXTRA_PNGINFO")
    inputs = [
        Socket("LORA_MODEL", "lora", tooltip="The LoRA model to save. Do not use the model with LoRA layers."),
        String("prefix", default="loras/ComfyUI_trained_lora", tooltip="The prefix to use for the saved LoRA file."),
        Int("steps", optional=True,
            tooltip="Optional: The number of steps to LoRA has been trained for, used to name the saved file."),
    ]
    outputs = []

    @classmethod
    def validate(cls, ctx: Any, *, prefix: Any = None) -> Any:
        return super().validate(ctx, filename_prefix=prefix)

    @classmethod
    def run(cls, ctx: Any, *, lora: Any, prefix: str, steps: int | None = None, prompt: Any = None,
            extra_pnginfo: Any = None) -> dict:
        tensors = checked_lora_model(cls.node_id, lora)
        suffix = "" if steps is None else f"_{int(steps)}_steps"
        path = output_file(ctx, cls.node_id, "prefix", prefix, suffix)
        saving.write_tensors(path, {k: v.detach().cpu().contiguous() for k, v in tensors.items()})
        return {}


NODES = [LoraModelLoader, SaveLoRA]
