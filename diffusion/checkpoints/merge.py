"""Merging two models' weights as patches on a clone of the first (ComfyUI's ModelMerge* and CLIPMerge*).

A merge never touches either input: the result is `first.clone()` with one "diff" patch per
weight, computed from both handles' current (patched) weights in float32. With w1 and w2 the
weights of the first and second handle:

- blend at ratio r:   r*w1 + (1-r)*w2  (a diff w2-w1 at strength 1-r; r=1 adds nothing);
- add:                w1 + w2;
- subtract by m:      m*(w1 - w2)      (ComfyUI scales model1 by m as well, so m=1 gives w1-w2).

Weights only the first handle has keep their values; weights only the second has are ignored,
as ComfyUI does. Two handles whose shared weights differ in shape (models of different
families) raise MergeError naming the first such weight.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import torch

from diffusion.memory.patcher import ModelPatcher

# Text encoder entries that are not weights to merge (ComfyUI skips them by these endings).
CLIP_SKIPPED_ENDINGS = (".position_ids", ".logit_scale")


class MergeError(ValueError):
    """Two models that cannot be merged (different families or weight shapes)."""


def current_weights(patcher: ModelPatcher) -> dict[str, torch.Tensor]:
    """Every parameter of the handle as it runs: the base tensors with its patches applied."""
    weights = {name: p.detach() for name, p in patcher.model.named_parameters()}
    weights.update(patcher.patched_weights())
    return weights


def longest_prefix_ratio(key: str, ratios: Mapping[str, float], default: float) -> float:
    """The ratio of the longest prefix in `ratios` that `key` starts with, else `default` (ComfyUI's rule)."""
    best, best_length = default, 0
    for prefix, ratio in ratios.items():
        if key.startswith(prefix) and len(prefix) > best_length:
            best, best_length = ratio, len(prefix)
    return best


def _shared_weights(first: ModelPatcher, second: ModelPatcher, skip: tuple[str, ...], what: str):
    one, two = current_weights(first), current_weights(second)
    names = [n for n in one if n in two and not n.endswith(skip)]
    if not names:
        raise MergeError(f"{what}: the two models share no weights")
    for name in names:
        if tuple(one[name].shape) != tuple(two[name].shape):
            raise MergeError(f"{what}: weight {name} has shape {tuple(one[name].shape)} in the first model and "
                             f"{tuple(two[name].shape)} in the second; models of different families cannot be merged")
    return one, two, names


def _merged(first: ModelPatcher, second: ModelPatcher, delta_of: Callable, *, skip: tuple[str, ...] = (),
            what: str = "model") -> ModelPatcher:
    """A clone of `first` with `delta_of(name, w1, w2) -> (delta | None, strength)` added per shared weight."""
    one, two, names = _shared_weights(first, second, skip, what)
    out = first.clone()
    by_strength: dict[float, dict[str, tuple]] = {}
    for name in names:
        w1 = one[name].float()
        w2 = two[name].to(w1.device).float()
        delta, strength = delta_of(name, w1, w2)
        if delta is not None and strength != 0.0:
            by_strength.setdefault(float(strength), {})[name] = ("diff", (delta,))
    for strength, patches in by_strength.items():
        out.add_patches(patches, strength)
    return out


def merge_blend(first: ModelPatcher, second: ModelPatcher, ratio_of: Callable[[str], float], *,
                skip: tuple[str, ...] = (), what: str = "model") -> ModelPatcher:
    """ratio*w1 + (1-ratio)*w2 per weight, `ratio_of(name)` giving each weight's ratio."""
    def delta(name, w1, w2):
        ratio = float(ratio_of(name))
        return (None, 0.0) if ratio == 1.0 else (w2 - w1, 1.0 - ratio)
    return _merged(first, second, delta, skip=skip, what=what)


def merge_add(first: ModelPatcher, second: ModelPatcher, *, skip: tuple[str, ...] = (),
              what: str = "model") -> ModelPatcher:
    """w1 + w2 per weight."""
    return _merged(first, second, lambda name, w1, w2: (w2, 1.0), skip=skip, what=what)


def merge_subtract(first: ModelPatcher, second: ModelPatcher, multiplier: float, *, skip: tuple[str, ...] = (),
                   what: str = "model") -> ModelPatcher:
    """multiplier*(w1 - w2) per weight."""
    m = float(multiplier)
    return _merged(first, second, lambda name, w1, w2: ((m - 1.0) * w1 - m * w2, 1.0), skip=skip, what=what)


def check_same_family(first_family: str | None, second_family: str | None, what: str) -> None:
    """Refuse two models whose detected families have different architectures (e.g. SD1.5 and SDXL)."""
    if first_family is None or second_family is None:
        return
    if _architecture(first_family) != _architecture(second_family):
        raise MergeError(f"{what}: cannot merge a {first_family} model with a {second_family} model")


def _architecture(family: str) -> str:
    """Families that share every weight shape: v-prediction and eps SD2 models merge, as in ComfyUI."""
    return {"sd21-v": "sd21"}.get(family, family)


def merge_clip(first, second, merge: Callable[[ModelPatcher, ModelPatcher, str], ModelPatcher]):
    """A clone of CLIP handle `first` whose every encoder is `merge(encoder1, encoder2, label)`.

    Both handles must be of the same text-encoder family (the same encoders by name).
    """
    if first.family != second.family or set(first.encoders) != set(second.encoders):
        raise MergeError(f"cannot merge {first.family} text encoders with {second.family} text encoders")
    out = first.clone()
    for name in first.encoders:
        out.encoders[name] = merge(first.encoders[name], second.encoders[name], f"text encoder clip_{name}")
    return out
