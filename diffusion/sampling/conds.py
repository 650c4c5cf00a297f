"""Conditioning as ComfyUI passes it (a list of [tensor, dict]) made ready for one sampling run.

Per entry, the dict may carry:
- `area`: (h, w, y, x) in latent pixels, or ("percentage", h, w, y, x) as fractions;
- `strength` (default 1), `mask` ([H, W] or [B, H, W], any size: resized to the latent),
  `mask_strength`, `set_area_to_bounds` (area = the mask's bounding box);
- `start_percent` / `end_percent` (ConditioningSetTimestepRange), turned into a sigma range;
- SDXL size fields (`pooled_output`, `width`, `height`, `crop_w`, `crop_h`, `target_width`,
  `target_height`, `aesthetic_score`) from which the vector conditioning `y` is built;
- `unclip_conditioning` (unCLIPConditioning): for SD2.1 unCLIP models the whole `y` (zeros without
  it), for SDXL the pooled embedding (revision); see diffusion/models/clip_vision/unclip.py;
- `concat_latent_image` / `concat_mask` for inpainting models (see `inpaint_concat.py`);
- `control` (an AppliedControl chain from the Apply ControlNet nodes; `control.py`), prepared for
  the run's schedule, and `control_apply_to_uncond` (ControlNetApply: the control also reaches the negative).
`prepare_conditioning` validates all of this and returns `PreparedCond`s; `add_opposite_areas`
gives every area cond a counterpart on the other side, as ComfyUI does.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import torch
import torch.nn.functional as F

from diffusion.sampling.control import PreparedControl, copy_controls_to_uncond, prepare_control
from diffusion.sampling.discrete import DiscreteSchedule

SDXL_FAMILIES = ("sdxl", "sdxl-refiner")
UNCLIP_FAMILIES = ("sd21-unclip-l", "sd21-unclip-h")
AdmBuilder = Callable[..., torch.Tensor]


@dataclass(frozen=True)
class PreparedCond:
    """One conditioning entry resolved against the latent: what the guided denoiser needs."""

    context: torch.Tensor  # [B, tokens, dim], repeated to the latent batch
    y: torch.Tensor | None  # [B, adm] for SDXL and SD2.1 unCLIP, else None
    area: tuple[int, int, int, int] | None  # (h, w, y, x) in latent pixels
    mask: torch.Tensor | None  # [B, H, W] at latent size
    strength: float
    mask_strength: float
    sigma_start: float | None  # active while sigma <= sigma_start ...
    sigma_end: float | None  # ... and sigma >= sigma_end
    options: dict[str, Any]
    concat: torch.Tensor | None = None  # [B, k, H, W] extra input channels of inpainting models
    control: PreparedControl | None = None  # ControlNet residuals for this entry (control.py)

    def active_at(self, sigma: float) -> bool:
        if self.sigma_start is not None and sigma > self.sigma_start:
            return False
        if self.sigma_end is not None and sigma < self.sigma_end:
            return False
        return True


def repeat_to_batch_size(tensor: torch.Tensor, batch_size: int, dim: int = 0) -> torch.Tensor:
    """Cycle (or cut) `tensor` along `dim` to exactly `batch_size` entries."""
    size = tensor.shape[dim]
    if size > batch_size:
        return tensor.narrow(dim, 0, batch_size)
    if size < batch_size:
        repeats = [1] * tensor.ndim
        repeats[dim] = math.ceil(batch_size / size)
        return tensor.repeat(repeats).narrow(dim, 0, batch_size)
    return tensor


def _where(which: str, index: int) -> str:
    return f"{which} conditioning #{index}"


def _check_entry(entry: Any, where: str) -> tuple[torch.Tensor, dict]:
    if not isinstance(entry, (list, tuple)) or len(entry) != 2:
        raise ValueError(f"{where}: expected a [tensor, dict] pair, got {type(entry).__name__}")
    tensor, options = entry
    if not isinstance(tensor, torch.Tensor) or tensor.ndim != 3:
        shape = tuple(tensor.shape) if isinstance(tensor, torch.Tensor) else type(tensor).__name__
        raise ValueError(f"{where}: the tensor must be [batch, tokens, dim], got {shape}")
    if not isinstance(options, dict):
        raise ValueError(f"{where}: the second element must be a dict, got {type(options).__name__}")
    return tensor, options


def _resolve_area(area: Any, dims: tuple[int, int], where: str) -> tuple[int, int, int, int]:
    if isinstance(area, (list, tuple)) and len(area) == 5 and area[0] == "percentage":
        fractions = [float(v) for v in area[1:]]
        h = max(1, round(fractions[0] * dims[0]))
        w = max(1, round(fractions[1] * dims[1]))
        return h, w, round(fractions[2] * dims[0]), round(fractions[3] * dims[1])
    if not isinstance(area, (list, tuple)) or len(area) != 4:
        raise ValueError(f"{where}: area must be (h, w, y, x) or ('percentage', h, w, y, x), got {area!r}")
    try:
        h, w, y, x = (int(v) for v in area)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: area values must be numbers, got {area!r}") from None
    if h < 1 or w < 1 or y < 0 or x < 0:
        raise ValueError(f"{where}: area {area!r} needs positive size and non-negative offsets")
    if y >= dims[0] or x >= dims[1]:
        raise ValueError(f"{where}: area {area!r} starts outside the {dims[1]}x{dims[0]} latent")
    return h, w, y, x


def _resolve_mask(mask: Any, dims: tuple[int, int], where: str) -> torch.Tensor:
    if not isinstance(mask, torch.Tensor) or mask.ndim not in (2, 3) or mask.numel() == 0:
        shape = tuple(mask.shape) if isinstance(mask, torch.Tensor) else type(mask).__name__
        raise ValueError(f"{where}: mask must be a [H, W] or [B, H, W] tensor, got {shape}")
    mask = mask.float()
    if mask.ndim == 2:
        mask = mask.unsqueeze(0)
    if tuple(mask.shape[1:]) != dims:
        mask = F.interpolate(mask.unsqueeze(1), size=dims, mode="bilinear", align_corners=False).squeeze(1)
    return mask


def _mask_bounds(mask: torch.Tensor) -> tuple[int, int, int, int]:
    """Area (h, w, y, x) of the bounding box of a mask's non-zero pixels (at least 8x8)."""
    union = mask.abs().amax(dim=0)
    rows = torch.nonzero(union.amax(dim=1) > 0).flatten()
    cols = torch.nonzero(union.amax(dim=0) > 0).flatten()
    if rows.numel() == 0:
        return 8, 8, 0, 0
    y0, y1 = int(rows[0]), int(rows[-1])
    x0, x1 = int(cols[0]), int(cols[-1])
    return max(8, y1 - y0 + 1), max(8, x1 - x0 + 1), y0, x0


def _number(options: dict, key: str, default: float, where: str) -> float:
    value = options.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{where}: {key} must be a finite number, got {value!r}")
    return float(value)


def default_adm_builder() -> AdmBuilder:
    """SDXL's vector-conditioning builder (imported when an SDXL model samples)."""
    from diffusion.models.unet.sdxl_conditioning import adm_vector

    return adm_vector


def _build_y(family: str, options: dict, latent_shape, prompt_type: str, adm: AdmBuilder, where: str,
             seed: int | None = None):
    pooled = options.get("pooled_output")
    if options.get("unclip_conditioning") is not None:  # SDXL revision: image embeds replace the pooled text
        from diffusion.models.clip_vision.unclip import sdxl_pooled

        pooled = sdxl_pooled(options["unclip_conditioning"], pooled, seed, where)
    if not isinstance(pooled, torch.Tensor):
        raise ValueError(f"{where}: an {family} model needs `pooled_output` in the conditioning "
                         f"(encode the prompt with this model's CLIP)")
    if pooled.ndim == 1:
        pooled = pooled.unsqueeze(0)
    width = int(options.get("width", latent_shape[3] * 8))
    height = int(options.get("height", latent_shape[2] * 8))
    aesthetic = options.get("aesthetic_score", 2.5 if prompt_type == "negative" else 6.0)
    y = adm(family, pooled.float(), width, height, int(options.get("crop_w", 0)), int(options.get("crop_h", 0)),
            int(options.get("target_width", width)), int(options.get("target_height", height)), float(aesthetic))
    return repeat_to_batch_size(y, latent_shape[0])


def _build_unclip_y(family: str, options: dict, batch: int, where: str, seed: int | None) -> torch.Tensor:
    """SD2.1 unCLIP's `y`: the noise-augmented image embeds of `unclip_conditioning`, or zeros without."""
    from diffusion.models.clip_vision.unclip import UNCLIP_ADM, sd21_unclip_y

    y = sd21_unclip_y(options.get("unclip_conditioning"), UNCLIP_ADM[family], seed, where)
    return repeat_to_batch_size(y, batch)


def prepare_conditioning(conds: Any, *, which: str, latent_shape: tuple[int, ...], schedule: DiscreteSchedule,
                         family: str = "sd15", adm: AdmBuilder | None = None,
                         seed: int | None = None) -> list[PreparedCond]:
    """Validate and resolve a ComfyUI conditioning list for a latent of `latent_shape` [B, C, H, W].

    `which` is "positive" or "negative" (used in messages and for the refiner's default
    aesthetic score). `seed` is the sampler's seed (unCLIP's noise augmentation draws from it).
    Errors are ValueErrors naming the entry and the field.
    """
    if not isinstance(conds, (list, tuple)):
        raise ValueError(f"{which} conditioning must be a list of [tensor, dict] pairs, got {type(conds).__name__}")
    batch = latent_shape[0]
    dims = (int(latent_shape[2]), int(latent_shape[3]))
    prepared = []
    for index, entry in enumerate(conds):
        where = _where(which, index)
        tensor, options = _check_entry(entry, where)
        area = _resolve_area(options["area"], dims, where) if "area" in options else None
        mask = _resolve_mask(options["mask"], dims, where) if options.get("mask") is not None else None
        if mask is not None:
            mask = repeat_to_batch_size(mask, batch)
            if options.get("set_area_to_bounds", False):
                area = _mask_bounds(mask)
        sigma_start = sigma_end = None
        if "start_percent" in options:
            sigma_start = schedule.percent_to_sigma(_number(options, "start_percent", 0.0, where))
        if "end_percent" in options:
            sigma_end = schedule.percent_to_sigma(_number(options, "end_percent", 1.0, where))
        y = None
        if family in SDXL_FAMILIES:
            y = _build_y(family, options, latent_shape, which, adm or default_adm_builder(), where, seed)
        elif family in UNCLIP_FAMILIES:
            y = _build_unclip_y(family, options, batch, where, seed)
        prepared.append(PreparedCond(
            context=repeat_to_batch_size(tensor.float(), batch), y=y, area=area, mask=mask,
            strength=_number(options, "strength", 1.0, where),
            mask_strength=_number(options, "mask_strength", 1.0, where),
            sigma_start=sigma_start, sigma_end=sigma_end, options=options,
            control=prepare_control(options.get("control"), schedule, family, where)))
    return prepared


def _contains(outer: tuple[int, int, int, int], inner: tuple[int, int, int, int]) -> bool:
    return (inner[2] >= outer[2] and inner[0] + inner[2] <= outer[0] + outer[2]
            and inner[3] >= outer[3] and inner[1] + inner[3] <= outer[1] + outer[3])


def _add_counterpart(others: list[PreparedCond], cond: PreparedCond) -> None:
    """If `cond` has an area, copy it into `others` with the text of the smallest `others` entry covering it."""
    if cond.area is None:
        return
    smallest = None
    for other in others:
        if other.area is None:
            if smallest is None:
                smallest = other
        elif _contains(other.area, cond.area):
            if smallest is None or smallest.area is None:
                smallest = other
            elif smallest.area[0] * smallest.area[1] > other.area[0] * other.area[1]:
                smallest = other
    if smallest is None or smallest.area == cond.area:
        return
    others.append(replace(cond, context=smallest.context, y=smallest.y))


def add_opposite_areas(positive: list[PreparedCond], negative: list[PreparedCond]) -> None:
    """Give each area cond a same-area counterpart on the other side (in place), as ComfyUI does."""
    for cond in list(positive):
        _add_counterpart(negative, cond)
    for cond in list(negative):
        _add_counterpart(positive, cond)
    copy_controls_to_uncond(positive, negative)
