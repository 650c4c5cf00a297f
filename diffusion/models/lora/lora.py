"""LoRA files (kohya / ComfyUI key styles) applied to clones of the UNet and text encoders.

Accepted weights per LoRA module (`<name>` is a kohya name such as
`lora_unet_input_blocks_1_1_proj_in` or `lora_te1_text_model_encoder_layers_0_mlp_fc1`):

- `<name>.lora_up.weight`, `<name>.lora_down.weight`, optional `<name>.alpha`
  (also `.lora_B.weight` / `.lora_A.weight`, the PEFT spelling of the same pair);
- LoCon convolutions: down `[rank, in, k, k]`, up `[out, rank, 1, 1]`, optional
  `<name>.lora_mid.weight` (Tucker kernel);
- `<name>.diff` (the whole weight difference) and `<name>.diff_b` (a bias difference), as
  ComfyUI's LoraSave writes them (diffusion/models/lora/extract.py).

The patched weight is W + strength·(alpha/rank)·(up @ down) (reshaped for convolutions),
computed by `ModelPatcher` on a clone: the loaded base model is never mutated.
Keys that are not understood (LoHa, LoKr, DoRA scales, names matching nothing) are logged
and counted in the returned `LoraReport`; a LoRA of which nothing matches raises
`LoraMismatchError` (usually: a LoRA made for another model family).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

import torch

from diffusion.memory.patcher import ModelPatcher, PatchError, check_patch
from diffusion.models.lora.keys import text_encoder_lora_targets, unet_lora_targets

log = logging.getLogger(__name__)

_PAIR_SUFFIXES = {
    ".lora_up.weight": "up",
    ".lora_down.weight": "down",
    ".lora_B.weight": "up",
    ".lora_A.weight": "down",
    ".lora_mid.weight": "mid",
    ".alpha": "alpha",
    ".diff": "diff",
    ".diff_b": "diff_b",
}


class LoraError(ValueError):
    """A LoRA file that cannot be used."""


class LoraMismatchError(LoraError):
    """None of the LoRA's modules fit the model (another family, or not a LoRA)."""


@dataclass
class LoraModule:
    """The tensors of one LoRA module."""

    up: torch.Tensor | None = None
    down: torch.Tensor | None = None
    alpha: float | None = None
    mid: torch.Tensor | None = None
    diff: torch.Tensor | None = None
    diff_b: torch.Tensor | None = None

    def patch(self) -> tuple[str, tuple]:
        return "lora", (self.up, self.down, self.alpha, self.mid)

    @property
    def usable(self) -> bool:
        return (self.up is not None and self.down is not None) or self.diff is not None or self.diff_b is not None

    def patches(self, weight: str) -> dict[str, tuple]:
        """`{parameter: patch}` for the module whose weight is `weight` (its bias for `diff_b`)."""
        out: dict[str, tuple] = {}
        if self.up is not None and self.down is not None:
            out[weight] = self.patch()
        elif self.diff is not None:
            out[weight] = ("diff", (self.diff,))
        if self.diff_b is not None:
            out[weight.removesuffix(".weight") + ".bias"] = ("diff", (self.diff_b,))
        return out


@dataclass
class LoraReport:
    """What a LoRA did: patched parameters, and every key it could not use (with the reason)."""

    model_keys: set[str] = field(default_factory=set)
    clip_keys: set[str] = field(default_factory=set)
    unmatched: list[str] = field(default_factory=list)  # module names that fit no parameter
    mismatched: list[str] = field(default_factory=list)  # matched a name but not the shape
    unsupported: list[str] = field(default_factory=list)  # keys of formats not handled

    @property
    def not_loaded(self) -> int:
        return len(self.unmatched) + len(self.mismatched) + len(self.unsupported)

    @property
    def looks_foreign(self) -> bool:
        """More of the LoRA failed to fit than fitted: probably made for another model family."""
        return self.not_loaded > len(self.model_keys) + len(self.clip_keys)

    def summary(self) -> str:
        text = f"LoRA patched {len(self.model_keys)} model and {len(self.clip_keys)} text-encoder weights"
        if self.not_loaded:
            text += f"; {self.not_loaded} keys not loaded"
        if self.looks_foreign:
            text += " (most of it does not fit: is it made for another model family?)"
        return text


def read_lora(state_dict: Mapping[str, torch.Tensor]) -> tuple[dict[str, LoraModule], list[str]]:
    """Group a LoRA state dict by module: (modules, keys of unsupported formats)."""
    modules: dict[str, LoraModule] = {}
    unsupported: list[str] = []
    for key in state_dict:
        for suffix, part in _PAIR_SUFFIXES.items():
            if key.endswith(suffix):
                module = modules.setdefault(key[: -len(suffix)], LoraModule())
                value = state_dict[key]
                if part == "alpha":
                    alpha = torch.as_tensor(value).float().reshape(-1)
                    if alpha.numel() != 1 or not torch.isfinite(alpha).all():
                        unsupported.append(f"{key} (alpha must be one finite number)")
                        module.alpha = float("nan")  # marks the module unusable below
                    else:
                        module.alpha = float(alpha[0])
                else:
                    setattr(module, part, value)
                break
        else:
            unsupported.append(key)
    for name, module in list(modules.items()):
        if module.alpha is not None and module.alpha != module.alpha:  # NaN: bad alpha, reported above
            del modules[name]
        elif not module.usable:
            unsupported.append(f"{name} (no up/down pair)")
            del modules[name]
    return modules, unsupported


def lora_fingerprint(state_dict: Mapping[str, torch.Tensor]) -> str:
    """A short content-free label of a LoRA (names and shapes) for patch sources."""
    digest = hashlib.sha256()
    for key in sorted(state_dict):
        digest.update(f"{key}:{tuple(state_dict[key].shape)};".encode())
    return digest.hexdigest()[:16]


def _fitting_patches(target: str, module: LoraModule, shape_of) -> dict[str, tuple] | None:
    """The module's patches when every one fits its parameter (`shape_of(name)`, None if absent), else None."""
    patches = module.patches(target)
    try:
        for name, (kind, tensors) in patches.items():
            shape = shape_of(name)
            if shape is None:
                return None
            check_patch(name, kind, tensors, shape)
    except PatchError:
        return None
    return patches


def apply_lora(
    model: ModelPatcher | None,
    clip,
    lora: Mapping[str, torch.Tensor],
    strength_model: float,
    strength_clip: float,
    *,
    source: str = "",
):
    """Apply a LoRA to clones of `model` (a UNet ModelPatcher) and `clip` (a CLIPHandle).

    Returns `(new_model, new_clip, report)`; either input may be None (model-only LoRA). With
    both strengths 0 the inputs are returned unchanged (as ComfyUI's LoraLoader does).
    """
    modules, unsupported = read_lora(lora)
    report = LoraReport(unsupported=list(unsupported))
    if strength_model == 0 and strength_clip == 0:
        return model, clip, report
    label = source or lora_fingerprint(lora)
    unet_targets = unet_lora_targets(model.parameter_names()) if model is not None else {}
    te_targets = {}
    if clip is not None:
        te_targets = text_encoder_lora_targets(clip.family, {n: p.parameter_names() for n, p in clip.encoders.items()})
    model_patches: dict[str, tuple] = {}
    clip_patches: dict[str, dict[str, tuple]] = {}
    unet_shapes = dict(model.model.named_parameters()) if model is not None else {}
    for name, module in modules.items():
        if name in unet_targets:
            fitting = _fitting_patches(unet_targets[name], module,
                                       lambda p: unet_shapes[p].shape if p in unet_shapes else None)
            if fitting is not None:
                model_patches.update(fitting)
            else:
                report.mismatched.append(name)
        elif name in te_targets:
            encoder, target = te_targets[name]
            shapes = {n: p.shape for n, p in clip.encoders[encoder].model.named_parameters()}
            fitting = _fitting_patches(target, module, shapes.get)
            if fitting is not None:
                clip_patches.setdefault(encoder, {}).update(fitting)
            else:
                report.mismatched.append(name)
        else:
            report.unmatched.append(name)
    if modules and not model_patches and not clip_patches:
        example = next(iter(modules))
        raise LoraMismatchError(
            f"none of the LoRA's {len(modules)} modules fit this model (e.g. {example}); "
            "is it made for another model family?"
        )
    new_model, new_clip = model, clip
    if model is not None and strength_model != 0:
        new_model = model.clone()
        report.model_keys = new_model.add_patches(model_patches, strength_model, source=label)
    if clip is not None and strength_clip != 0:
        new_clip = clip.clone()
        report.clip_keys = new_clip.add_patches(clip_patches, strength_clip, source=label)
    for key in report.unmatched + report.mismatched + report.unsupported:
        log.warning("lora key not loaded: %s", key)
    if report.looks_foreign:
        log.warning(report.summary())
    return new_model, new_clip, report
