"""Classifier-free guidance over ComfyUI-style conditioning lists.

`GuidedDenoiser(denoiser, positive, negative, cfg)` is the D(x, sigma) the samplers see:
1. every active cond (timestep range) becomes a work item: the latent (cropped to its area),
   a per-pixel weight = strength x (mask x mask_strength, or an 8-latent-pixel feathered edge
   on area sides that do not touch the latent border);
2. items are batched - conditional and unconditional together - into as few denoiser calls
   as possible (same crop size and compatible text lengths; token sequences of different
   lengths are repeated to their least common multiple, which leaves cross-attention unchanged);
3. each side's predictions are summed with their weights and divided by the summed weights;
4. result = uncond + (cond - uncond) * cfg. With cfg == 1 the negative side is not evaluated.
The model handle's options (model_hooks.py: pre-cfg, cfg and post-cfg functions, a model-sampling
override, UNet block patches) are honoured; they come from `model_options`, else from the
handle the DiscreteDenoiser runs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from diffusion.sampling import control, model_hooks
from diffusion.sampling.conds import PreparedCond

FEATHER = 8  # latent pixels of linear fade on inner area edges
MAX_TOKEN_REPEAT = 4  # text lengths whose lcm needs more repeats than this are run separately


@dataclass(eq=False)  # identity equality: `items.remove` must never compare the tensors of two items
class _WorkItem:
    side: int  # 0 = positive, 1 = negative
    x: torch.Tensor
    weight: torch.Tensor
    area: tuple[int, int, int, int] | None
    cond: PreparedCond


def _area_weight(cond: PreparedCond, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, tuple | None]:
    """(cropped input, weight of each of its pixels, clamped area) for one cond."""
    height, width = x.shape[2], x.shape[3]
    area = None
    crop = x
    if cond.area is not None:
        h, w, top, left = cond.area
        h = min(height - top, h)
        w = min(width - left, w)
        area = (h, w, top, left)
        crop = x[:, :, top:top + h, left:left + w]
    if cond.mask is not None:
        mask = cond.mask[: x.shape[0]]
        if area is not None:
            mask = mask[:, area[2]:area[2] + area[0], area[3]:area[3] + area[1]]
        weight = (mask * cond.mask_strength).to(x).unsqueeze(1).expand(-1, x.shape[1], -1, -1).clone()
    else:
        weight = torch.ones_like(crop)
    weight = weight * cond.strength
    if cond.mask is None and area is not None:
        _feather(weight, area, (height, width))
    return crop, weight, area


def _feather(weight: torch.Tensor, area: tuple[int, int, int, int], full: tuple[int, int]) -> None:
    """Fade the weight linearly over FEATHER pixels at area edges inside the latent (in place)."""
    sizes, offsets = area[:2], area[2:]
    for axis in range(2):
        dim = axis + 2
        ramp = min(FEATHER, weight.shape[dim] // 4)
        if offsets[axis] != 0:
            for t in range(ramp):
                weight.narrow(dim, t, 1).mul_((t + 1) / ramp)
        if sizes[axis] + offsets[axis] < full[axis]:
            for t in range(ramp):
                weight.narrow(dim, sizes[axis] - 1 - t, 1).mul_((t + 1) / ramp)


def _can_batch(a: _WorkItem, b: _WorkItem) -> bool:
    if a.x.shape != b.x.shape:
        return False
    ca, cb = a.cond.context, b.cond.context
    if ca.shape[2] != cb.shape[2]:
        return False
    if ca.shape[1] != cb.shape[1] and math.lcm(ca.shape[1], cb.shape[1]) // min(ca.shape[1], cb.shape[1]) > MAX_TOKEN_REPEAT:
        return False
    if (a.cond.y is None) != (b.cond.y is None):
        return False
    if a.cond.y is not None and a.cond.y.shape != b.cond.y.shape:
        return False
    if not control.same_control(a.cond.control, b.cond.control):
        return False
    if a.cond.options.get("gligen") is not b.cond.options.get("gligen"):  # GLIGEN boxes patch the UNet
        return False
    return (a.cond.concat is None) == (b.cond.concat is None)


def _concat_contexts(contexts: Sequence[torch.Tensor]) -> torch.Tensor:
    length = 1
    for c in contexts:
        length = math.lcm(length, c.shape[1])
    return torch.cat([c.repeat(1, length // c.shape[1], 1) for c in contexts], dim=0)


def _crop_concat(item: _WorkItem) -> torch.Tensor | None:
    concat = item.cond.concat
    if concat is None or item.area is None:
        return concat
    h, w, top, left = item.area
    return concat[:, :, top:top + h, left:left + w]


class GuidedDenoiser:
    """D(x, sigma) with classifier-free guidance; `denoiser(x, sigma, context=, y=, concat=)` runs the UNet."""

    def __init__(self, denoiser: Callable[..., torch.Tensor], positive: list[PreparedCond],
                 negative: list[PreparedCond], cfg: float, interrupt_check: Callable[[], None] | None = None,
                 max_batch: int | None = None, model_options: dict | None = None) -> None:
        self.options = model_options if model_options is not None else model_hooks.options_of(denoiser)
        self.base_denoiser = denoiser
        self.denoiser = model_hooks.hooked(denoiser, self.options)
        self.positive = positive
        self.negative = negative
        self.cfg = float(cfg)
        self.interrupt_check = interrupt_check
        self.max_batch = max_batch
        self.model_calls = 0

    def __call__(self, x: torch.Tensor, sigma: torch.Tensor,
                 uncond_sink: Callable[[torch.Tensor], None] | None = None, **_: object) -> torch.Tensor:
        """The guided prediction; a CFG++ sampler's `uncond_sink` is also handed the unconditional one.

        With a sink the negative is evaluated even at cfg 1 (CFG++ steps along it); without a
        negative (BasicGuider) there is none to hand over, and the sink is not called.
        """
        if self.interrupt_check is not None:
            self.interrupt_check()
        wants_uncond = uncond_sink is not None and bool(self.negative)
        skip_uncond = (math.isclose(self.cfg, 1.0) and not wants_uncond
                       and not model_hooks.wants_negative_at_cfg1(self.options))
        sides = [self.positive] if skip_uncond else [self.positive, self.negative]
        cond_pred, *rest = self.predict(x, sigma, sides)
        hooks = model_hooks.has_cfg_hooks(self.options)
        pre_hooks = bool(self.options.get(model_hooks.SAMPLER_PRE_CFG_FUNCTION))
        if skip_uncond and not hooks and not pre_hooks:
            return cond_pred
        uncond_pred = torch.zeros_like(cond_pred) if skip_uncond else rest[0]
        sigma_b = torch.as_tensor(sigma, dtype=x.dtype, device=x.device).reshape(-1).expand(x.shape[0])
        if pre_hooks:
            cond_pred, uncond_pred = model_hooks.pre_cfg(
                [cond_pred, uncond_pred], [self.positive, None if skip_uncond else self.negative], self.cfg, x,
                sigma_b, self.options)[:2]
        if wants_uncond:
            uncond_sink(uncond_pred)
        if not hooks:
            return uncond_pred + (cond_pred - uncond_pred) * self.cfg
        return model_hooks.combine(cond_pred, uncond_pred, self.cfg, x, sigma_b, self.options,
                                   self.positive, self.negative, self.calc_cond_batch)

    def calc_cond_batch(self, sides: list[list[PreparedCond]], x: torch.Tensor, sigma: torch.Tensor,
                         options: dict) -> list[torch.Tensor]:
        """Predictions of `sides` with the model run under other options (for post-cfg hooks such as PAG)."""
        return self.predict(x, sigma, sides, denoiser=model_hooks.hooked(self.base_denoiser, options))

    _calc_cond_batch = calc_cond_batch  # the name the SAG rule's tests use

    def predict(self, x: torch.Tensor, sigma: torch.Tensor, sides: list[list[PreparedCond]],
                denoiser: Callable[..., torch.Tensor] | None = None) -> list[torch.Tensor]:
        """Weighted average prediction of each side's conds at this x and sigma (by `denoiser`, else our own)."""
        sigma = torch.as_tensor(sigma, dtype=x.dtype, device=x.device).reshape(-1)
        if sigma.numel() == 1:
            sigma = sigma.expand(x.shape[0])
        level = float(sigma[0])
        items = []
        for side, conds in enumerate(sides):
            for cond in conds:
                if cond.active_at(level):
                    crop, weight, area = _area_weight(cond, x)
                    items.append(_WorkItem(side, crop, weight, area, cond))
        totals = [torch.zeros_like(x) for _ in sides]
        counts = [torch.full_like(x, 1e-37) for _ in sides]
        while items:
            group = [items.pop(0)]
            for other in list(items):
                if self.max_batch is not None and len(group) >= self.max_batch:
                    break
                if _can_batch(group[0], other):
                    group.append(other)
                    items.remove(other)
            outputs = self._run(group, sigma, denoiser or self.denoiser)
            for item, output in zip(group, outputs, strict=True):
                total, count = totals[item.side], counts[item.side]
                if item.area is not None:
                    h, w, top, left = item.area
                    total = total[:, :, top:top + h, left:left + w]
                    count = count[:, :, top:top + h, left:left + w]
                total += output * item.weight
                count += item.weight
        return [total / count for total, count in zip(totals, counts, strict=True)]

    def _run(self, group: list[_WorkItem], sigma: torch.Tensor,
             denoiser: Callable[..., torch.Tensor]) -> list[torch.Tensor]:
        batch = group[0].x.shape[0]
        x_in = torch.cat([item.x for item in group], dim=0)
        sigma_in = sigma.repeat(len(group))
        context = _concat_contexts([item.cond.context.to(x_in.device) for item in group])
        y = None
        if group[0].cond.y is not None:
            y = torch.cat([item.cond.y.to(x_in.device) for item in group], dim=0)
        concat = None
        if group[0].cond.concat is not None:
            concat = torch.cat([_crop_concat(item) for item in group], dim=0)
        self.model_calls += 1
        hooks = control.control_hooks([item.cond for item in group], x_in, sigma_in, context, y, denoiser)
        gligen = group[0].cond.options.get("gligen")
        if gligen is not None:  # GLIGEN boxes: a middle_patch (diffusion/models/gligen/boxes.py)
            from diffusion.models.gligen.boxes import gligen_hooks

            boxes = gligen_hooks(gligen, tuple(group[0].x.shape))
            hooks = boxes if hooks is None else hooks.merged(boxes)
        extra = {} if hooks is None else {"hooks": hooks}  # ControlNet residuals (control.py)
        output = denoiser(x_in, sigma_in, context=context, y=y, concat=concat, **extra)
        return list(output.split(batch, dim=0))
