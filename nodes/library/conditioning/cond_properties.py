"""ComfyUI's "hooks" conditioning nodes, as far as latentgraph's sampler honours them (comfy_extras/nodes_hooks.py).

ConditioningTimestepsRange gives a TIMESTEPS_RANGE, a (start_percent, end_percent) pair of
fractions of the sampling schedule. The Set Props nodes put on every entry of `*_NEW`:
- with a `mask`: `mask` ([B, H, W]), `set_area_to_bounds` and `mask_strength` = strength
  (without a mask, strength has no effect: ComfyUI's behaviour);
- with `timesteps`: `start_percent` / `end_percent` (diffusion/sampling/conds.py reads both).
The "And Combine" variants append the result to `cond` (list concatenation, as
ConditioningCombine). Pair variants do the same to a positive and a negative together.

What latentgraph refuses, with an error naming the input: a connected `hooks` input
(hook-patched models do not exist here, so the hooks could only be ignored), and the Set
Default Combine nodes (the sampler has no "default" conditioning that fills the area no
other conditioning covers; a default entry would act everywhere instead).
"""

from __future__ import annotations

import math
from typing import Any

from nodes.api.declare import Combo, Float, Node, Out, Socket
from nodes.api.lazy import lazy_import
from nodes.library.conditioning.edit import require_conditioning, with_values

torch = lazy_import("torch")

AREA_MODES = ["default", "mask bounds"]
NO_HOOKS = ("hooks have no effect in latentgraph (there are no hook-patched models); disconnect it")
NO_DEFAULT_CONDS = ("latentgraph's sampler has no default conditioning (applied only where no other conditioning "
                    "acts); combine the conditionings with ConditioningCombine, or mask them with Cond Set Props")


def check_timesteps(timesteps: Any, node: str) -> tuple[float, float] | None:
    """`timesteps` as a (start, end) pair of fractions in 0..1, or None; else a clear error naming the input."""
    if timesteps is None:
        return None
    if not isinstance(timesteps, (list, tuple)) or len(timesteps) != 2:
        raise ValueError(f"{node}: input 'timesteps' must be a TIMESTEPS_RANGE (start, end), got {timesteps!r:.80}")
    pair = []
    for value in timesteps:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"{node}: input 'timesteps' must hold two numbers, got {timesteps!r:.80}")
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"{node}: input 'timesteps' {tuple(timesteps)} must lie in 0..1")
        pair.append(float(value))
    return pair[0], pair[1]


def check_mask(mask: Any, node: str) -> torch.Tensor | None:
    """`mask` as [B, H, W], or None; else a clear error naming the input."""
    if mask is None:
        return None
    if not isinstance(mask, torch.Tensor) or mask.ndim not in (2, 3) or 0 in mask.shape:
        got = tuple(mask.shape) if isinstance(mask, torch.Tensor) else type(mask).__name__
        raise ValueError(f"{node}: input 'mask' must be a MASK [batch, height, width] or [height, width], got {got}")
    return mask.unsqueeze(0) if mask.ndim == 2 else mask


def refuse_hooks(hooks: Any, node: str) -> None:
    if hooks is not None:
        raise ValueError(f"{node}: input 'hooks': {NO_HOOKS}")


def property_values(node: str, strength: float, set_cond_area: str, mask: Any, timesteps: Any) -> dict[str, Any]:
    """The dict keys the Set Props nodes put on each entry (ComfyUI's set_conds_props)."""
    if set_cond_area not in AREA_MODES:
        raise ValueError(f"{node}: input 'set_cond_area' must be one of {AREA_MODES}, got {set_cond_area!r}")
    if isinstance(strength, bool) or not isinstance(strength, (int, float)) or not 0.0 <= strength <= 10.0:
        raise ValueError(f"{node}: input 'strength' must be a number in 0..10, got {strength!r}")
    values: dict[str, Any] = {}
    mask = check_mask(mask, node)
    if mask is not None:
        values.update(mask=mask, set_area_to_bounds=set_cond_area != "default", mask_strength=float(strength))
    span = check_timesteps(timesteps, node)
    if span is not None:
        values.update(start_percent=span[0], end_percent=span[1])
    return values


PROPERTY_INPUTS = [
    Float("strength", default=1.0, min=0.0, max=10.0, step=0.01),
    Combo("set_cond_area", AREA_MODES),
    Socket("MASK", "mask", optional=True),
    Socket("HOOKS", "hooks", optional=True),
    Socket("TIMESTEPS_RANGE", "timesteps", optional=True),
]
PAIR_OUTPUTS = [Out("CONDITIONING", "positive"), Out("CONDITIONING", "negative")]


class ConditioningTimestepsRange(Node):
    node_id = "ConditioningTimestepsRange"
    display_name = "Timesteps Range"
    category = "advanced/hooks"
    experimental = True
    description = "The range start..end of the sampling schedule, and the ranges before and after it."
    inputs = [
        Float("start_percent", default=0.0, min=0.0, max=1.0, step=0.001),
        Float("end_percent", default=1.0, min=0.0, max=1.0, step=0.001),
    ]
    outputs = [Out("TIMESTEPS_RANGE"), Out("TIMESTEPS_RANGE", "BEFORE_RANGE"), Out("TIMESTEPS_RANGE", "AFTER_RANGE")]

    @classmethod
    def run(cls, ctx: Any, *, start_percent: float, end_percent: float) -> tuple:
        for name, value in (("start_percent", start_percent), ("end_percent", end_percent)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
                raise ValueError(f"{cls.node_id}: input '{name}' must be a number in 0..1, got {value!r}")
        start, end = float(start_percent), float(end_percent)
        return (start, end), (0.0, start), (end, 1.0)


class ConditioningSetProperties(Node):
    node_id = "ConditioningSetProperties"
    display_name = "Cond Set Props"
    category = "advanced/hooks/cond single"
    experimental = True
    description = "Sets a mask (with strength and area mode) and a timesteps range on cond_NEW. Refuses hooks."
    inputs = [Socket("CONDITIONING", "cond_NEW"), *PROPERTY_INPUTS]
    outputs = [Out("CONDITIONING")]

    @classmethod
    def run(cls, ctx: Any, *, cond_NEW: list, strength: float, set_cond_area: str, mask: Any = None,
            hooks: Any = None, timesteps: Any = None) -> tuple:
        refuse_hooks(hooks, cls.node_id)
        new = require_conditioning(cond_NEW, cls.node_id, "cond_NEW")
        return (with_values(new, property_values(cls.node_id, strength, set_cond_area, mask, timesteps)),)


class ConditioningSetPropertiesAndCombine(Node):
    node_id = "ConditioningSetPropertiesAndCombine"
    display_name = "Cond Set Props Combine"
    category = "advanced/hooks/cond single"
    experimental = True
    description = "Like Cond Set Props on cond_NEW, then appends the result to cond. Refuses hooks."
    inputs = [Socket("CONDITIONING", "cond"), Socket("CONDITIONING", "cond_NEW"), *PROPERTY_INPUTS]
    outputs = [Out("CONDITIONING")]

    @classmethod
    def run(cls, ctx: Any, *, cond: list, cond_NEW: list, strength: float, set_cond_area: str, mask: Any = None,
            hooks: Any = None, timesteps: Any = None) -> tuple:
        refuse_hooks(hooks, cls.node_id)
        base = require_conditioning(cond, cls.node_id, "cond")
        new = require_conditioning(cond_NEW, cls.node_id, "cond_NEW")
        return (base + with_values(new, property_values(cls.node_id, strength, set_cond_area, mask, timesteps)),)


class ConditioningSetDefaultCombine(Node):
    node_id = "ConditioningSetDefaultCombine"
    display_name = "Cond Set Default Combine"
    category = "advanced/hooks/cond single"
    experimental = True
    description = "Refused at validation: " + NO_DEFAULT_CONDS + "."
    inputs = [Socket("CONDITIONING", "cond"), Socket("CONDITIONING", "cond_DEFAULT"),
              Socket("HOOKS", "hooks", optional=True)]
    outputs = [Out("CONDITIONING")]

    @classmethod
    def validate(cls, ctx: Any) -> tuple:
        return ("cond_DEFAULT", NO_DEFAULT_CONDS)

    @classmethod
    def run(cls, ctx: Any, *, cond: list, cond_DEFAULT: list, hooks: Any = None) -> tuple:
        raise ValueError(f"{cls.node_id}: input 'cond_DEFAULT': {NO_DEFAULT_CONDS}")


class PairConditioningSetProperties(Node):
    node_id = "PairConditioningSetProperties"
    display_name = "Cond Pair Set Props"
    category = "advanced/hooks/cond pair"
    experimental = True
    description = "Cond Set Props on a positive and a negative together. Refuses hooks."
    inputs = [Socket("CONDITIONING", "positive_NEW"), Socket("CONDITIONING", "negative_NEW"), *PROPERTY_INPUTS]
    outputs = PAIR_OUTPUTS

    @classmethod
    def run(cls, ctx: Any, *, positive_NEW: list, negative_NEW: list, strength: float, set_cond_area: str,
            mask: Any = None, hooks: Any = None, timesteps: Any = None) -> tuple:
        refuse_hooks(hooks, cls.node_id)
        positive = require_conditioning(positive_NEW, cls.node_id, "positive_NEW")
        negative = require_conditioning(negative_NEW, cls.node_id, "negative_NEW")
        values = property_values(cls.node_id, strength, set_cond_area, mask, timesteps)
        return with_values(positive, values), with_values(negative, values)


class PairConditioningSetPropertiesAndCombine(Node):
    node_id = "PairConditioningSetPropertiesAndCombine"
    display_name = "Cond Pair Set Props Combine"
    category = "advanced/hooks/cond pair"
    experimental = True
    description = "Cond Set Props Combine on a positive and a negative together. Refuses hooks."
    inputs = [Socket("CONDITIONING", "positive"), Socket("CONDITIONING", "negative"),
              Socket("CONDITIONING", "positive_NEW"), Socket("CONDITIONING", "negative_NEW"), *PROPERTY_INPUTS]
    outputs = PAIR_OUTPUTS

    @classmethod
    def run(cls, ctx: Any, *, positive: list, negative: list, positive_NEW: list, negative_NEW: list,
            strength: float, set_cond_area: str, mask: Any = None, hooks: Any = None, timesteps: Any = None) -> tuple:
        refuse_hooks(hooks, cls.node_id)
        pos = require_conditioning(positive, cls.node_id, "positive")
        neg = require_conditioning(negative, cls.node_id, "negative")
        pos_new = require_conditioning(positive_NEW, cls.node_id, "positive_NEW")
        neg_new = require_conditioning(negative_NEW, cls.node_id, "negative_NEW")
        values = property_values(cls.node_id, strength, set_cond_area, mask, timesteps)
        return pos + with_values(pos_new, values), neg + with_values(neg_new, values)


class PairConditioningSetDefaultCombine(Node):
    node_id = "PairConditioningSetDefaultCombine"
    display_name = "Cond Pair Set Default Combine"
    category = "advanced/hooks/cond pair"
    experimental = True
    description = "Refused at validation: " + NO_DEFAULT_CONDS + "."
    inputs = [Socket("CONDITIONING", "positive"), Socket("CONDITIONING", "negative"),
              Socket("CONDITIONING", "positive_DEFAULT"), Socket("CONDITIONING", "negative_DEFAULT"),
              Socket("HOOKS", "hooks", optional=True)]
    outputs = PAIR_OUTPUTS

    @classmethod
    def validate(cls, ctx: Any) -> tuple:
        return ("positive_DEFAULT", NO_DEFAULT_CONDS)

    @classmethod
    def run(cls, ctx: Any, *, positive: list, negative: list, positive_DEFAULT: list, negative_DEFAULT: list,
            hooks: Any = None) -> tuple:
        raise ValueError(f"{cls.node_id}: inputs 'positive_DEFAULT' / 'negative_DEFAULT': {NO_DEFAULT_CONDS}")


class PairConditioningCombine(Node):
    node_id = "PairConditioningCombine"
    display_name = "Cond Pair Combine"
    category = "advanced/hooks/cond pair"
    experimental = True
    description = "positive_A + positive_B and negative_A + negative_B (list concatenation)."
    inputs = [Socket("CONDITIONING", "positive_A"), Socket("CONDITIONING", "negative_A"),
              Socket("CONDITIONING", "positive_B"), Socket("CONDITIONING", "negative_B")]
    outputs = PAIR_OUTPUTS

    @classmethod
    def run(cls, ctx: Any, *, positive_A: list, negative_A: list, positive_B: list, negative_B: list) -> tuple:
        names = {"positive_A": positive_A, "negative_A": negative_A, "positive_B": positive_B,
                 "negative_B": negative_B}
        checked = {name: require_conditioning(value, cls.node_id, name) for name, value in names.items()}
        return (checked["positive_A"] + checked["positive_B"], checked["negative_A"] + checked["negative_B"])


NODES = [ConditioningTimestepsRange, ConditioningSetProperties, ConditioningSetPropertiesAndCombine,
         ConditioningSetDefaultCombine, PairConditioningSetProperties, PairConditioningSetPropertiesAndCombine,
         PairConditioningSetDefaultCombine, PairConditioningCombine]
