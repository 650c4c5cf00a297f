"""LoraSave ("Extract and Save Lora", ComfyUI's comfy_extras/nodes_lora_extract.py).

Takes the difference of two models (ModelMergeSubtract) and/or of two text encoders
(CLIPMergeSubtract) and writes it as a LoRA file: each weight difference becomes its best
rank-`rank` approximation (truncated SVD, "standard") or is stored whole ("full_diff"), biases
and 1-D weights are stored whole with bias_diff. Keys are ComfyUI's (`diffusion_model.<param>`,
`text_encoders.clip_l.transformer.<param>`), which LoraLoader reads back. The file goes to the
output folder under the prefix's counter name (`loras/ComfyUI_extracted_lora_00001_.safetensors`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nodes.api.declare import Boolean, Combo, Int, Socket, String
from nodes.api.lazy import lazy_import
from nodes.api.runtime import runtime_of
from nodes.library.output_files import SavesNamedFiles

extract = lazy_import("diffusion.models.lora.extract")
merging = lazy_import("diffusion.checkpoints.merge")
saving = lazy_import("diffusion.checkpoints.save_checkpoint")

LORA_TYPES = ["standard", "full_diff"]  # as diffusion.models.lora.extract.LORA_TYPES (no torch at import here)
UNET_PREFIX = "diffusion_model."


def output_file(ctx: Any, node: str, input_name: str, prefix: str, stem_suffix: str = "") -> Path:
    """The next free `<prefix><stem_suffix>_NNNNN_.safetensors` in the output folder."""
    folders = runtime_of(ctx, node).folders
    try:
        path, _subfolder, _filename = folders.next_output_path(prefix, "safetensors")
    except ValueError as exc:
        raise ValueError(f"{node}: input {input_name!r}: {exc}") from None
    if stem_suffix:
        stem, counter = path.name.removesuffix("_.safetensors").rsplit("_", 1)
        path = path.with_name(f"{stem}{stem_suffix}_{counter}_.safetensors")
    return path


def text_encoder_diffs(clip: Any) -> dict[str, Any]:
    """Every text-encoder weight of a CLIP handle under ComfyUI's names (`clip_l.transformer.<param>`)."""
    weights: dict[str, Any] = {}
    for name, patcher in clip.encoders.items():
        for param, tensor in merging.current_weights(patcher).items():
            weights[f"clip_{name}.transformer.{param}"] = tensor
    return weights


class LoraSave(SavesNamedFiles):
    node_id = "LoraSave"
    display_name = "Extract and Save Lora"
    category = "_for_testing"
    description = ("Writes the difference of two models (ModelMergeSubtract) or text encoders (CLIPMergeSubtract) "
                   "as a LoRA: a rank-`rank` SVD per weight ('standard') or the whole difference ('full_diff').")
    output_node = True
    experimental = True
    hidden = ("PROMPT", "EXTRA_PNGINFO")
    inputs = [
        String("filename_prefix", default="loras/ComfyUI_extracted_lora"),
        Int("rank", default=8, min=1, max=4096, step=1),
        Combo("lora_type", LORA_TYPES, extra={"multiselect": False}),
        Boolean("bias_diff", default=True),
        Socket("MODEL", "model_diff", optional=True, tooltip="The ModelSubtract output to be converted to a lora."),
        Socket("CLIP", "text_encoder_diff", optional=True,
               tooltip="The CLIPSubtract output to be converted to a lora."),
    ]
    outputs = []

    @classmethod
    def run(cls, ctx: Any, *, filename_prefix: str, rank: int, lora_type: str, bias_diff: bool,
            model_diff: Any = None, text_encoder_diff: Any = None, prompt: Any = None,
            extra_pnginfo: Any = None) -> dict:
        if model_diff is None and text_encoder_diff is None:
            return {}  # as ComfyUI: nothing to extract, no file
        if lora_type not in LORA_TYPES:
            raise ValueError(f"{cls.node_id}: input 'lora_type': {lora_type!r} is not one of {', '.join(LORA_TYPES)}")
        path = output_file(ctx, cls.node_id, "filename_prefix", filename_prefix)
        tensors: dict[str, Any] = {}
        if model_diff is not None:
            tensors.update(extract.lora_state_dict(merging.current_weights(model_diff), rank, lora_type, bias_diff,
                                                   prefix=UNET_PREFIX))
        if text_encoder_diff is not None:
            tensors.update(extract.lora_state_dict(text_encoder_diffs(text_encoder_diff), rank, lora_type, bias_diff,
                                                   prefix="text_encoders."))
        saving.write_tensors(path, tensors)
        return {}


NODES = [LoraSave]
