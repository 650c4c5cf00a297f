"""Model-free CONDITIONING nodes: combining, concatenating, averaging and annotating conditionings.

A CONDITIONING is a list of [tensor [B, tokens, dim], dict] pairs; the dict carries
`pooled_output` and the keys these nodes set: `area`, `strength`, `set_area_to_bounds`,
`mask`, `mask_strength`, `start_percent`, `end_percent`. Ids, inputs, defaults and output
order are ComfyUI's (nodes.py). Each node returns new lists and new dicts (tensors are
shared, never written to), so cached inputs stay as they were.

Key meanings the sampler relies on (as in current ComfyUI):
- `area` = (height // 8, width // 8, y // 8, x // 8) in latent pixels, or
  ("percentage", height, width, y, x) as fractions of the latent.
- `start_percent`/`end_percent` are fractions of the sampling schedule (0 = first step,
  1 = last), stored as given by ConditioningSetTimestepRange.
"""

from __future__ import annotations

import logging
from typing import Any

from nodes.api.declare import Combo, Float, Int, Node, Out, Socket
from nodes.api.lazy import lazy_import

torch = lazy_import("torch")

log = logging.getLogger("latentgraph.nodes")

MAX_RESOLUTION = 16384


def require_conditioning(value: Any, node: str, name: str = "conditioning", *, non_empty: bool = False,
                         token_tensors: bool = False) -> list:
    """`value` if it is a CONDITIONING list of [tensor, dict] pairs, else a clear error naming the input.

    `token_tensors` also requires every tensor to be [batch, tokens, features] (for token arithmetic).
    """
    if not isinstance(value, (list, tuple)):
        raise TypeError(f"{node}: input '{name}' must be a CONDITIONING list of [tensor, dict] pairs, "
                        f"got {type(value).__name__}")
    for index, entry in enumerate(value):
        if not (isinstance(entry, (list, tuple)) and len(entry) == 2 and isinstance(entry[0], torch.Tensor)
                and isinstance(entry[1], dict)):
            raise TypeError(f"{node}: input '{name}' entry {index} is not a [tensor, dict] pair")
        if token_tensors and entry[0].ndim != 3:
            raise ValueError(f"{node}: input '{name}' entry {index} has a tensor of shape {tuple(entry[0].shape)}; "
                             "expected [batch, tokens, features]")
    if non_empty and not value:
        raise ValueError(f"{node}: input '{name}' is an empty CONDITIONING")
    return list(value)


def with_values(conditioning: list, values: dict[str, Any]) -> list:
    """New [tensor, dict] pairs whose dicts are copies of the old ones updated with `values`."""
    return [[tensor, {**options, **values}] for tensor, options in conditioning]


class ConditioningCombine(Node):
    node_id = "ConditioningCombine"
    display_name = "Conditioning (Combine)"
    category = "conditioning"
    inputs = [Socket("CONDITIONING", "conditioning_1"), Socket("CONDITIONING", "conditioning_2")]
    outputs = [Out("CONDITIONING")]

    @classmethod
    def run(cls, ctx: Any, *, conditioning_1: list, conditioning_2: list) -> tuple:
        first = require_conditioning(conditioning_1, cls.node_id, "conditioning_1")
        second = require_conditioning(conditioning_2, cls.node_id, "conditioning_2")
        return (first + second,)


def _first_from(conditioning_from: list, node: str) -> tuple[torch.Tensor, dict]:
    entries = require_conditioning(conditioning_from, node, "conditioning_from", non_empty=True, token_tensors=True)
    if len(entries) > 1:
        log.warning("%s: conditioning_from has %d entries; only the first is used", node, len(entries))
    return entries[0][0], entries[0][1]


def _check_features(to: torch.Tensor, source: torch.Tensor, node: str) -> None:
    if to.shape[2] != source.shape[2]:
        raise ValueError(f"{node}: conditioning_to has {to.shape[2]} features per token but conditioning_from has "
                         f"{source.shape[2]}; they come from different text encoders")
    if source.shape[0] not in (1, to.shape[0]) and to.shape[0] != 1:
        raise ValueError(f"{node}: batch sizes {to.shape[0]} and {source.shape[0]} cannot be combined")


class ConditioningConcat(Node):
    node_id = "ConditioningConcat"
    display_name = "Conditioning (Concat)"
    category = "conditioning"
    description = "Appends the tokens of conditioning_from's first entry to every entry of conditioning_to."
    inputs = [Socket("CONDITIONING", "conditioning_to"), Socket("CONDITIONING", "conditioning_from")]
    outputs = [Out("CONDITIONING")]

    @classmethod
    def run(cls, ctx: Any, *, conditioning_to: list, conditioning_from: list) -> tuple:
        to = require_conditioning(conditioning_to, cls.node_id, "conditioning_to", token_tensors=True)
        source, _ = _first_from(conditioning_from, cls.node_id)
        out = []
        for tensor, options in to:
            _check_features(tensor, source, cls.node_id)
            batch = max(tensor.shape[0], source.shape[0])
            joined = torch.cat((tensor.expand(batch, -1, -1), source.to(tensor).expand(batch, -1, -1)), dim=1)
            out.append([joined, dict(options)])
        return (out,)


class ConditioningAverage(Node):
    node_id = "ConditioningAverage"
    display_name = "Conditioning (Average)"
    category = "conditioning"
    description = ("to x strength + from x (1 - strength), token by token (from is cut or zero-padded to the "
                   "length of to); pooled outputs are mixed the same way.")
    inputs = [
        Socket("CONDITIONING", "conditioning_to"),
        Socket("CONDITIONING", "conditioning_from"),
        Float("conditioning_to_strength", default=1.0, min=0.0, max=1.0, step=0.01),
    ]
    outputs = [Out("CONDITIONING")]

    @classmethod
    def run(cls, ctx: Any, *, conditioning_to: list, conditioning_from: list, conditioning_to_strength: float) -> tuple:
        to = require_conditioning(conditioning_to, cls.node_id, "conditioning_to", token_tensors=True)
        source, source_options = _first_from(conditioning_from, cls.node_id)
        pooled_from = source_options.get("pooled_output")
        strength = float(conditioning_to_strength)
        out = []
        for tensor, options in to:
            _check_features(tensor, source, cls.node_id)
            matched = _match_tokens(source.to(tensor), tensor.shape[1])
            mixed = tensor * strength + matched * (1.0 - strength)
            new_options = dict(options)
            pooled_to = options.get("pooled_output", pooled_from)
            if pooled_from is not None and pooled_to is not None:
                new_options["pooled_output"] = pooled_to * strength + pooled_from.to(pooled_to) * (1.0 - strength)
            elif pooled_from is not None:
                new_options["pooled_output"] = pooled_from
            out.append([mixed, new_options])
        return (out,)


def _match_tokens(tensor: torch.Tensor, tokens: int) -> torch.Tensor:
    """`tensor` [B, T, D] cut or zero-padded to `tokens` tokens."""
    tensor = tensor[:, :tokens]
    if tensor.shape[1] < tokens:
        padding = torch.zeros(tensor.shape[0], tokens - tensor.shape[1], tensor.shape[2],
                              dtype=tensor.dtype, device=tensor.device)
        tensor = torch.cat((tensor, padding), dim=1)
    return tensor


class ConditioningSetArea(Node):
    node_id = "ConditioningSetArea"
    display_name = "Conditioning (Set Area)"
    category = "conditioning"
    inputs = [
        Socket("CONDITIONING", "conditioning"),
        Int("width", default=64, min=64, max=MAX_RESOLUTION, step=8),
        Int("height", default=64, min=64, max=MAX_RESOLUTION, step=8),
        Int("x", default=0, min=0, max=MAX_RESOLUTION, step=8),
        Int("y", default=0, min=0, max=MAX_RESOLUTION, step=8),
        Float("strength", default=1.0, min=0.0, max=10.0, step=0.01),
    ]
    outputs = [Out("CONDITIONING")]

    @classmethod
    def run(cls, ctx: Any, *, conditioning: list, width: int, height: int, x: int, y: int, strength: float) -> tuple:
        entries = require_conditioning(conditioning, cls.node_id)
        area = (height // 8, width // 8, y // 8, x // 8)
        return (with_values(entries, {"area": area, "strength": strength, "set_area_to_bounds": False}),)


class ConditioningSetAreaPercentage(Node):
    node_id = "ConditioningSetAreaPercentage"
    display_name = "Conditioning (Set Area with Percentage)"
    category = "conditioning"
    inputs = [
        Socket("CONDITIONING", "conditioning"),
        Float("width", default=1.0, min=0, max=1.0, step=0.01),
        Float("height", default=1.0, min=0, max=1.0, step=0.01),
        Float("x", default=0, min=0, max=1.0, step=0.01),
        Float("y", default=0, min=0, max=1.0, step=0.01),
        Float("strength", default=1.0, min=0.0, max=10.0, step=0.01),
    ]
    outputs = [Out("CONDITIONING")]

    @classmethod
    def run(cls, ctx: Any, *, conditioning: list, width: float, height: float, x: float, y: float,
            strength: float) -> tuple:
        entries = require_conditioning(conditioning, cls.node_id)
        area = ("percentage", height, width, y, x)
        return (with_values(entries, {"area": area, "strength": strength, "set_area_to_bounds": False}),)


class ConditioningSetAreaStrength(Node):
    node_id = "ConditioningSetAreaStrength"
    category = "conditioning"
    inputs = [Socket("CONDITIONING", "conditioning"), Float("strength", default=1.0, min=0.0, max=10.0, step=0.01)]
    outputs = [Out("CONDITIONING")]

    @classmethod
    def run(cls, ctx: Any, *, conditioning: list, strength: float) -> tuple:
        return (with_values(require_conditioning(conditioning, cls.node_id), {"strength": strength}),)


class ConditioningSetMask(Node):
    node_id = "ConditioningSetMask"
    display_name = "Conditioning (Set Mask)"
    category = "conditioning"
    inputs = [
        Socket("CONDITIONING", "conditioning"),
        Socket("MASK", "mask"),
        Float("strength", default=1.0, min=0.0, max=10.0, step=0.01),
        Combo("set_cond_area", ["default", "mask bounds"]),
    ]
    outputs = [Out("CONDITIONING")]

    @classmethod
    def run(cls, ctx: Any, *, conditioning: list, mask, strength: float, set_cond_area: str) -> tuple:
        entries = require_conditioning(conditioning, cls.node_id)
        if not isinstance(mask, torch.Tensor) or mask.ndim not in (2, 3) or min(mask.shape) == 0:
            shape = tuple(mask.shape) if isinstance(mask, torch.Tensor) else type(mask).__name__
            raise ValueError(f"{cls.node_id}: mask must be a MASK tensor [batch, height, width] or [height, width], "
                             f"got {shape}")
        if mask.ndim == 2:
            mask = mask.unsqueeze(0)
        values = {"mask": mask, "set_area_to_bounds": set_cond_area != "default", "mask_strength": strength}
        return (with_values(entries, values),)


class ConditioningZeroOut(Node):
    node_id = "ConditioningZeroOut"
    category = "advanced/conditioning"
    description = "Zeros every conditioning tensor and its pooled_output."
    inputs = [Socket("CONDITIONING", "conditioning")]
    outputs = [Out("CONDITIONING")]

    @classmethod
    def run(cls, ctx: Any, *, conditioning: list) -> tuple:
        out = []
        for tensor, options in require_conditioning(conditioning, cls.node_id):
            new_options = dict(options)
            if isinstance(options.get("pooled_output"), torch.Tensor):
                new_options["pooled_output"] = torch.zeros_like(options["pooled_output"])
            out.append([torch.zeros_like(tensor), new_options])
        return (out,)


class ConditioningSetTimestepRange(Node):
    node_id = "ConditioningSetTimestepRange"
    category = "advanced/conditioning"
    description = "Applies the conditioning only between `start` and `end` (fractions of the sampling schedule)."
    inputs = [
        Socket("CONDITIONING", "conditioning"),
        Float("start", default=0.0, min=0.0, max=1.0, step=0.001),
        Float("end", default=1.0, min=0.0, max=1.0, step=0.001),
    ]
    outputs = [Out("CONDITIONING")]

    @classmethod
    def run(cls, ctx: Any, *, conditioning: list, start: float, end: float) -> tuple:
        entries = require_conditioning(conditioning, cls.node_id)
        return (with_values(entries, {"start_percent": start, "end_percent": end}),)


NODES = [ConditioningCombine, ConditioningConcat, ConditioningAverage, ConditioningSetArea,
         ConditioningSetAreaPercentage, ConditioningSetAreaStrength, ConditioningSetMask, ConditioningZeroOut,
         ConditioningSetTimestepRange]
