"""What one UNet evaluation may be patched with: ComfyUI's `transformer_options` patches, typed.

`UNetModel.forward(..., hooks=UNetHooks(...))`. Every field is optional; the empty UNetHooks
changes nothing. Patch functions receive `info`, a dict like ComfyUI's `extra_options`:
"block" (("input" | "middle" | "output", index)), "block_index" (the transformer's index inside
that block's SpatialTransformer, also "transformer_index"), "n_heads", "dim_head",
"original_shape" ([B, C, H, W] of the feature map entering the SpatialTransformer),
"activations_shape" (the same for the block patches), plus everything in `hooks.info`
(e.g. "sigmas", "cond_or_uncond" put there by the sampler).

UNet level (in `UNetModel.forward`), in ComfyUI's order:
- input blocks: after each block, `control["input"]` is added (a residual popped from the end of
  that list; None entries skip), then `input_block_patch` fns (h, info) -> h, then the skip is kept,
  then `input_block_patch_after_skip` fns (h, info) -> h (Kohya deep shrink).
- middle block: then `control["middle"]` (popped from the end).
- output blocks: the skip popped, `control["output"]` added to it (popped from the end, so the list
  is in input-block order), then `output_block_patch` fns (h, skip, info) -> (h, skip) (FreeU),
  then the join.
Transformer level (in each BasicTransformerBlock):
- `attn1_patch` fns (n, context, value, info) -> (n, context, value) before self-attention
  (context/value None mean "n itself"; HyperTile, ToMe), `attn1_replace[block]`
  fn(q, k, v, info) -> out replacing the attention core (PAG, SAG), `attn1_output_patch`
  fns (out, info) -> out;
- `middle_patch` fns (x, info) -> x between self- and cross-attention (GLIGEN);
- `attn2_patch` fns (n, context, value, info) -> (n, context, value) before cross-attention
  (value None means "context"; hypernetworks), `attn2_replace[block]`, `attn2_output_patch`.
The lists in `control` are copied before popping: the caller's dict is never changed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

_LISTS = ("input_block_patch", "input_block_patch_after_skip", "output_block_patch", "attn1_patch",
          "attn1_output_patch", "middle_patch", "attn2_patch", "attn2_output_patch")
_MAPPINGS = ("attn1_replace", "attn2_replace", "info")


@dataclass(frozen=True)
class UNetHooks:
    input_block_patch: tuple[Callable, ...] = ()
    input_block_patch_after_skip: tuple[Callable, ...] = ()
    output_block_patch: tuple[Callable, ...] = ()
    attn1_patch: tuple[Callable, ...] = ()
    attn1_replace: Mapping[tuple[str, int], Callable] = field(default_factory=dict)
    attn1_output_patch: tuple[Callable, ...] = ()
    middle_patch: tuple[Callable, ...] = ()
    attn2_patch: tuple[Callable, ...] = ()
    attn2_replace: Mapping[tuple[str, int], Callable] = field(default_factory=dict)
    attn2_output_patch: tuple[Callable, ...] = ()
    control: Mapping[str, list] | None = None
    info: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in _LISTS:
            object.__setattr__(self, name, tuple(getattr(self, name)))

    def is_empty(self) -> bool:
        return self.control is None and not any(getattr(self, f.name) for f in fields(self) if f.name != "control")

    def merged(self, other: UNetHooks | None) -> UNetHooks:
        """Self's patches then other's; mappings merged (other wins); other's control if it has one."""
        if other is None:
            return self
        values: dict[str, Any] = {}
        for name in _LISTS:
            values[name] = getattr(self, name) + getattr(other, name)
        for name in _MAPPINGS:
            values[name] = {**getattr(self, name), **getattr(other, name)}
        values["control"] = other.control if other.control is not None else self.control
        return UNetHooks(**values)

    def transformer(self, block: tuple[str, int]) -> TransformerHooks | None:
        """The hooks one block's transformers see, or None when they see none."""
        attn1 = self.attn1_replace.get(block)
        attn2 = self.attn2_replace.get(block)
        if not (attn1 or attn2 or self.attn1_patch or self.attn1_output_patch or self.middle_patch
                or self.attn2_patch or self.attn2_output_patch):
            return None
        return TransformerHooks(self, block, attn1, attn2)


@dataclass(frozen=True)
class TransformerHooks:
    """The UNetHooks as seen by the transformers of one block (with that block's replacements)."""

    hooks: UNetHooks
    block: tuple[str, int]
    attn1_replace: Callable | None
    attn2_replace: Callable | None

    def info(self, **extra: Any) -> dict[str, Any]:
        return {**self.hooks.info, "block": self.block, **extra}


def pop_control(control: dict[str, list] | None, name: str):
    """The next residual of `control[name]` (popped from the end), or None."""
    if control is None:
        return None
    residuals = control.get(name)
    if not residuals:
        return None
    return residuals.pop()


def working_control(control: Mapping[str, list] | None) -> dict[str, list] | None:
    """A copy of `control` whose lists may be popped."""
    if control is None:
        return None
    return {name: list(residuals) for name, residuals in control.items()}
