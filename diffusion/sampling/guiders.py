"""How each guider kind turns its conditionings' predictions into one denoised D(x, sigma).

`guided_model(kind, denoiser, conds, cfg, cfg2, nested, interrupt_check)`:
- "basic" / "cfg": a `cfg.GuidedDenoiser` (cfg and its hooks: model_hooks.py);
- "dual_cfg": `DualGuidedDenoiser`, ComfyUI's DualCFGGuider: regular is
  cfg_function(cond2, negative, cfg2) + (cond1 - cond2) * cfg1, nested is
  negative + cfg2 * (cfg_function(cond1, cond2, cfg1) - negative), where cfg_function is the model's
  sampler_cfg_function and post-cfg hooks (plain CFG without them). A side whose weight is 1 is
  not evaluated in regular style (cfg2 == 1 drops the negative, then cfg1 == 1 drops cond2 too)
  unless the model disables the cfg-1 optimisation; the hooks then see zeros for it;
- "perp_neg": `PerpNegDenoiser`, ComfyUI's PerpNegGuider (`perp_neg` below), with the model's
  pre-cfg and post-cfg hooks run around it as ComfyUI does.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from diffusion.sampling import model_hooks
from diffusion.sampling.cfg import GuidedDenoiser
from diffusion.sampling.conds import PreparedCond


def perp_neg(positive: torch.Tensor, negative: torch.Tensor, empty: torch.Tensor, neg_scale: float,
             cfg: float) -> torch.Tensor:
    """Perp-Neg: e + cfg (p' - neg_scale * (n' - <n', p'> / |p'|^2 p')) with p' = p - e, n' = n - e.

    The inner product and the norm run over the whole tensor, batch included, as in ComfyUI.
    """
    pos = positive - empty
    neg = negative - empty
    perpendicular = neg - ((neg * pos).sum() / torch.norm(pos) ** 2) * pos
    return empty + cfg * (pos - perpendicular * neg_scale)


def _sigma_batch(sigma: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return torch.as_tensor(sigma, dtype=x.dtype, device=x.device).reshape(-1).expand(x.shape[0])


class DualGuidedDenoiser:
    """D(x, sigma) of a dual_cfg guider over prepared (cond1, cond2, negative)."""

    def __init__(self, denoiser, conds: list[list[PreparedCond]], cfg1: float, cfg2: float, nested: bool,
                 interrupt_check: Callable[[], None] | None = None) -> None:
        self.inner = GuidedDenoiser(denoiser, conds[0], conds[2], 1.0, interrupt_check=interrupt_check)
        self.positive, self.middle, self.negative = conds
        self.cfg1, self.cfg2, self.nested = float(cfg1), float(cfg2), nested

    def _cfg_function(self, cond_pred, uncond_pred, cfg, x, sigma, cond, uncond) -> torch.Tensor:
        options = self.inner.options
        if not model_hooks.has_cfg_hooks(options):
            return uncond_pred + (cond_pred - uncond_pred) * cfg
        return model_hooks.combine(cond_pred, uncond_pred, cfg, x, _sigma_batch(sigma, x), options, cond, uncond,
                                   self.inner.calc_cond_batch)

    def __call__(self, x: torch.Tensor, sigma: torch.Tensor, **_: object) -> torch.Tensor:
        if self.inner.interrupt_check is not None:
            self.inner.interrupt_check()
        if self.nested:
            negative, middle, positive = self.inner.predict(x, sigma, [self.negative, self.middle, self.positive])
            text = self._cfg_function(positive, middle, self.cfg1, x, sigma, self.positive, self.middle)
            return negative + self.cfg2 * (text - negative)
        keep_all = model_hooks.wants_negative_at_cfg1(self.inner.options)
        use_negative = keep_all or not math.isclose(self.cfg2, 1.0)
        use_middle = use_negative or not math.isclose(self.cfg1, 1.0)
        sides = [self.positive] + ([self.middle] if use_middle else []) + ([self.negative] if use_negative else [])
        predictions = self.inner.predict(x, sigma, sides)
        positive = predictions[0]
        middle = predictions[1] if use_middle else torch.zeros_like(x)
        negative = predictions[2] if use_negative else torch.zeros_like(x)
        guided = self._cfg_function(middle, negative, self.cfg2, x, sigma, self.middle if use_middle else None,
                                    self.negative if use_negative else None)
        return guided + (positive - middle) * self.cfg1


class PerpNegDenoiser:
    """D(x, sigma) of a perp_neg guider over prepared (positive, negative, empty)."""

    def __init__(self, denoiser, conds: list[list[PreparedCond]], cfg: float, neg_scale: float,
                 interrupt_check: Callable[[], None] | None = None) -> None:
        self.inner = GuidedDenoiser(denoiser, conds[0], conds[1], cfg, interrupt_check=interrupt_check)
        self.positive, self.negative, self.empty = conds
        self.cfg, self.neg_scale = float(cfg), float(neg_scale)

    def __call__(self, x: torch.Tensor, sigma: torch.Tensor, **_: object) -> torch.Tensor:
        if self.inner.interrupt_check is not None:
            self.inner.interrupt_check()
        options = self.inner.options
        negative, empty = self.negative, self.empty
        if not model_hooks.wants_negative_at_cfg1(options) and math.isclose(self.neg_scale, 0.0):
            negative = None
            if math.isclose(self.cfg, 1.0):
                empty = None
        conds = [self.positive, negative, empty]
        outs = self.inner.predict(x, sigma, [side if side is not None else [] for side in conds])
        sigma_b = _sigma_batch(sigma, x)
        outs = model_hooks.pre_cfg(outs, conds, self.cfg, x, sigma_b, options)
        pos_pred, neg_pred, empty_pred = outs
        result = perp_neg(pos_pred, neg_pred, empty_pred, self.neg_scale, self.cfg)
        for post in options.get(model_hooks.SAMPLER_POST_CFG_FUNCTION, ()):
            result = post({"denoised": result, "cond": self.positive, "uncond": negative, "cond_scale": self.cfg,
                           "uncond_denoised": neg_pred, "cond_denoised": pos_pred, "sigma": sigma_b,
                           "model_options": options, "input": x, "calc_cond_batch": self.inner.calc_cond_batch,
                           "empty_cond": empty, "empty_cond_denoised": empty_pred})
        return result


def guided_model(kind: str, denoiser, conds: list[list[PreparedCond]], cfg: float, cfg2: float, nested: bool,
                 interrupt_check: Callable[[], None] | None):
    """The D(x, sigma) of a guider of `kind` (see the module docstring)."""
    if kind == "basic":
        return GuidedDenoiser(denoiser, conds[0], [], 1.0, interrupt_check=interrupt_check)
    if kind == "cfg":
        return GuidedDenoiser(denoiser, conds[0], conds[1], cfg, interrupt_check=interrupt_check)
    if kind == "dual_cfg":
        return DualGuidedDenoiser(denoiser, conds, cfg, cfg2, nested, interrupt_check)
    if kind == "perp_neg":
        return PerpNegDenoiser(denoiser, conds, cfg, cfg2, interrupt_check)
    raise ValueError(f"unknown guider kind {kind!r}")
