"""ControlNets and T2I-Adapters on the sampling side (ComfyUI's ControlBase / ControlNet / T2IAdapter).

- `ControlModel` is the CONTROL_NET value a loader returns: the network (a ControlNetModel or a
  T2I adapter), what family it is made for, and options (union type). Never changed once made.
- `AppliedControl` is what the apply nodes put in a conditioning entry's dict under "control":
  the model, the hint image [B, C, H, W] in 0..1, strength, start/end percent and the control
  applied before it ("previous", ComfyUI's previous_controlnet): a chain.
- `prepare_control(applied, schedule, family)` is called when conditioning is prepared for a run:
  it checks the family and turns the percent range into sigmas (ComfyUI's pre_run), giving a
  `PreparedControl` chain with per-run state (the resized hint).
- `PreparedControl.residuals(x, sigma, context, y, batched, sampling)` is ComfyUI's get_control:
  the previous control's residuals, then, while sigma is in range, this one's: the hint resized to
  8x the latent ("nearest-exact", centre crop), the network run on calculate_input(sigma, x) at
  timestep(sigma), each residual times strength, and the previous ones added (control_merge).
  The result is UNetHooks' `control` dict ({"input", "middle", "output"} lists).
- T2I-Adapters (diffusion/models/controlnet/t2i_adapter.py) give "input" residuals (added after input
  blocks) from the hint alone, computed once per hint size through `residuals_of`; ControlLoRAs
  (control_lora.py) have no network until sampling: `network_for(model)` builds it from the model the
  denoiser runs (ComfyUI's ControlLora.pre_run), cached per model fingerprint.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import torch
from torch import nn

from diffusion.imaging.resample import resize
from diffusion.memory.patcher import managed_patcher_of
from diffusion.models.unet.hooks import UNetHooks
from diffusion.sampling import model_hooks

FAMILY_GROUPS = {"sd15": "sd1", "sd15-inpaint": "sd1", "sd21": "sd2", "sd21-v": "sd2", "sd21-unclip-l": "sd2",
                 "sd21-unclip-h": "sd2", "sdxl": "sdxl", "sdxl-refiner": "sdxl-refiner"}
GROUP_NAMES = {"sd1": "SD1.x", "sd2": "SD2.x", "sdxl": "SDXL", "sdxl-refiner": "the SDXL refiner"}
UNION_CONTROLNET_TYPES = {"openpose": 0, "depth": 1, "hed/pidi/scribble/ted": 2, "canny/lineart/anime_lineart/mlsd": 3,
                          "normal": 4, "segment": 5, "tile": 6, "repaint": 7}


class ControlError(ValueError):
    """A ControlNet that cannot be used here (the message names it and what was expected)."""


@dataclass(frozen=True, eq=False)
class ControlModel:
    """A loaded ControlNet / T2I-Adapter (the CONTROL_NET socket value)."""

    network: nn.Module | None  # None for a ControlLoRA until built (build_from_model)
    kind: str  # "controlnet" | "t2i-adapter" | "control-lora" | "controlnet-diff"
    group: str | None  # "sd1" | "sd2" | "sdxl" (FAMILY_GROUPS values), None when unknown
    name: str  # the file it came from (for messages)
    global_average_pooling: bool = False  # ComfyUI's *_shuffle ControlNets
    compression_ratio: int = 8
    upscale_method: str = "nearest-exact"
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. {"control_type": [1]} (SetUnionControlNetType)
    # (network, x_in, hint, timesteps, context, y, prepared) -> residuals, in place of network(x_in, hint, ...)
    residuals_of: Callable[..., dict[str, list]] | None = None
    # ControlLoRA: (the sampled UNet's state dict) -> the network; `network` is None then (see network_for)
    build_from_model: Callable[[Mapping[str, torch.Tensor]], nn.Module] | None = None
    built: dict[str, nn.Module] = field(default_factory=dict, repr=False)  # fingerprint -> network, the last one

    def with_extra(self, key: str, value: Any) -> ControlModel:
        return replace(self, extra={**self.extra, key: value})

    def network_for(self, sampled: Any) -> nn.Module:
        """The network to run: `network`, or the one built from the sampled model (ComfyUI's ControlLora.pre_run),
        made once per model fingerprint. `sampled` is what the denoiser runs (a model handle or a UNet)."""
        if self.build_from_model is None:
            return self.network
        if sampled is None:
            raise ControlError(f"the ControlLoRA {self.name!r} is built from the model being sampled, but this "
                               f"denoiser shows no model")
        fingerprint = sampled.fingerprint() if callable(getattr(sampled, "fingerprint", None)) else f"id:{id(sampled)}"
        network = self.built.get(fingerprint)
        if network is None:
            patched = getattr(sampled, "patched", None)
            with patched() if callable(patched) else contextlib.nullcontext(sampled) as unet:
                network = self.build_from_model(unet.state_dict())
            self.built.clear()  # one built ControlNet at a time: it is as large as the UNet's encoder
            self.built[fingerprint] = network
        return network


@dataclass(frozen=True, eq=False)
class AppliedControl:
    """A ControlModel with its hint and range, as one conditioning entry carries it (immutable)."""

    model: ControlModel
    hint: torch.Tensor  # [B, C, H, W], 0..1
    strength: float = 1.0
    start_percent: float = 0.0
    end_percent: float = 1.0
    previous: AppliedControl | None = None
    extra_concat: tuple[torch.Tensor, ...] = ()


def prepare_control(applied: Any, schedule: Any, family: str, where: str) -> PreparedControl | None:
    """The run's PreparedControl chain of `applied` (None stays None); errors name `where`."""
    if applied is None:
        return None
    if not isinstance(applied, AppliedControl):
        raise ControlError(f"{where}: 'control' must be a ControlNet applied by an Apply ControlNet node, "
                           f"got {type(applied).__name__}")
    group = FAMILY_GROUPS.get(family)
    model = applied.model
    if model.group is not None and group is not None and model.group != group:
        raise ControlError(f"{where}: the ControlNet {model.name!r} is made for {GROUP_NAMES[model.group]} models, "
                           f"but the model being sampled is {GROUP_NAMES[group]} ({family}); use a ControlNet for "
                           f"{GROUP_NAMES[group]}")
    previous = prepare_control(applied.previous, schedule, family, where)
    return PreparedControl(applied, previous, schedule.percent_to_sigma(applied.start_percent),
                           schedule.percent_to_sigma(applied.end_percent))


def broadcast_hint(hint: torch.Tensor, batch: int, batched_number: int) -> torch.Tensor:
    """The hint repeated over a batch of `batched_number` conds x (batch // batched_number) latents (ComfyUI's)."""
    if hint.shape[0] == 1:
        return hint
    per_cond = batch // batched_number
    hint = hint[:per_cond]
    if per_cond > hint.shape[0]:
        hint = torch.cat([hint] * (per_cond // hint.shape[0]) + [hint[:per_cond % hint.shape[0]]], dim=0)
    if hint.shape[0] == batch:
        return hint
    return torch.cat([hint] * batched_number, dim=0)


class PreparedControl:
    """One run's view of an AppliedControl chain: sigma range and the hint at the latent's size."""

    def __init__(self, applied: AppliedControl, previous: PreparedControl | None, sigma_start: float,
                 sigma_end: float) -> None:
        self.applied = applied
        self.previous = previous
        self.sigma_start = sigma_start
        self.sigma_end = sigma_end
        self._hint: torch.Tensor | None = None
        self.cache: dict[Any, Any] = {}  # for residuals_of (T2I-Adapter features, computed once per hint size)

    def hint_for(self, x: torch.Tensor, batched_number: int) -> torch.Tensor:
        """The hint at the compression ratio times the latent size, batched like x."""
        model = self.applied.model
        width, height = x.shape[3] * model.compression_ratio, x.shape[2] * model.compression_ratio
        multiple = getattr(model.network, "unshuffle_amount", 1)  # T2I-Adapters unshuffle by 8 or 16
        width, height = -(-width // multiple) * multiple, -(-height // multiple) * multiple
        if self._hint is None or tuple(self._hint.shape[2:]) != (height, width):
            hint = self.applied.hint.float()
            self._hint = resize(hint, width, height, model.upscale_method, "center")
        hint = self._hint.to(x.device)
        if hint.shape[0] != x.shape[0]:
            hint = broadcast_hint(hint, x.shape[0], batched_number)
        return hint

    def residuals(self, x: torch.Tensor, sigma: torch.Tensor, context: torch.Tensor, y: torch.Tensor | None,
                  batched_number: int, sampling: Any, sampled: Any = None) -> dict[str, list] | None:
        """Residuals of the chain for the raw noisy x [B, C, H, W] at sigmas [B]; None when none is active.

        `sampled` is the model the denoiser runs (a ControlLoRA is built from its weights)."""
        previous = None
        if self.previous is not None:
            previous = self.previous.residuals(x, sigma, context, y, batched_number, sampling, sampled)
        level = float(sigma.reshape(-1)[0])
        if level > self.sigma_start or level < self.sigma_end:
            return previous
        model = self.applied.model
        network = model.network_for(sampled)
        managed = managed_patcher_of(network)
        streaming = managed is not None and managed.streaming
        if not streaming:
            _move(network, x.device)  # usually there already: the sampler loaded it with the UNet
        with managed.computing() if streaming else contextlib.nullcontext():  # streamed: block by block
            return self._residuals_of(network, x, sigma, context, y, batched_number, sampling, previous)

    def _residuals_of(self, network: nn.Module, x: torch.Tensor, sigma: torch.Tensor, context: torch.Tensor,
                      y: torch.Tensor | None, batched_number: int, sampling: Any,
                      previous: dict[str, list] | None) -> dict[str, list]:
        model = self.applied.model
        hint = self.hint_for(x, batched_number)
        sigma_col = sigma.reshape(-1, 1, 1, 1).to(x)
        x_in = sampling.calculate_input(sigma_col, x)
        timesteps = sampling.timestep(sigma.reshape(-1)).to(x.device).float()
        if timesteps.numel() == 1 and x.shape[0] > 1:
            timesteps = timesteps.expand(x.shape[0])
        if model.residuals_of is not None:
            own = model.residuals_of(network, x_in, hint, timesteps, context, y, self)
        else:
            own = network(x_in, hint, timesteps, context, y)
        return merge_control(own, previous, self.applied.strength, model.global_average_pooling, x.dtype)


def _move(network: nn.Module, device: torch.device) -> None:
    parameter = next(network.parameters(), None)
    if parameter is not None and parameter.device != device:
        network.to(device)


def merge_control(own: dict[str, list], previous: dict[str, list] | None, strength: float, average: bool,
                  dtype: torch.dtype) -> dict[str, list]:
    """This control's residuals times strength, plus the previous control's (ComfyUI's control_merge)."""
    out: dict[str, list] = {"input": [], "middle": [], "output": []}
    for key in out:
        for value in own.get(key, ()):
            if value is not None:
                if average:
                    value = value.mean(dim=(2, 3), keepdim=True).expand_as(value)
                value = (value * strength).to(dtype)
            out[key].append(value)
    if previous is not None:
        for key in out:
            mine = out[key]
            for index, prev in enumerate(previous.get(key, ())):
                if index >= len(mine):
                    mine.append(prev)
                elif prev is not None:
                    mine[index] = prev if mine[index] is None else prev + mine[index]
    return out


def same_control(a: PreparedControl | None, b: PreparedControl | None) -> bool:
    """Whether two conds may share one model call: the same applied control chain, or none."""
    if a is None or b is None:
        return a is b
    return a.applied is b.applied


def control_hooks(conds: list, x: torch.Tensor, sigma: torch.Tensor, context: torch.Tensor,
                  y: torch.Tensor | None, denoiser: Any) -> UNetHooks | None:
    """UNetHooks carrying the residuals of one batched model call of `conds` (all with the same control).

    The ControlNet sees each entry's `cross_attn_controlnet` (CLIPTextEncodeControlnet) in place of
    its text when it has one; None when no control is active (the call then runs unhooked).
    """
    control = conds[0].control
    if control is None:
        return None
    sampling = sampling_of(denoiser)
    if sampling is None:
        raise ControlError("a ControlNet needs the model's sampling (calculate_input, timestep); this denoiser "
                           "has none")
    if any(isinstance(c.options.get("cross_attn_controlnet"), torch.Tensor) for c in conds):
        batch = x.shape[0] // len(conds)
        texts = []
        for c in conds:
            text = c.options.get("cross_attn_controlnet")
            text = c.context if not isinstance(text, torch.Tensor) else text.float()
            texts.append(text.to(x.device).repeat(-(-batch // text.shape[0]), 1, 1)[:batch])
        length = max(t.shape[1] for t in texts)
        context = torch.cat([t.repeat(1, -(-length // t.shape[1]), 1)[:, :length] for t in texts], dim=0)
    residuals = control.residuals(x, sigma, context, y, len(conds), sampling, getattr(denoiser, "apply", None))
    return None if residuals is None else UNetHooks(control=residuals)


def sampling_of(denoiser: Any) -> Any:
    """The model sampling (calculate_input, timestep) a denoiser uses, or None when it shows none."""
    sampling = getattr(denoiser, "sampling", None)
    if sampling is not None and callable(getattr(sampling, "calculate_input", None)):
        return sampling
    prediction, schedule = getattr(denoiser, "prediction", None), getattr(denoiser, "schedule", None)
    if prediction is None or schedule is None:
        return None
    return model_hooks._DefaultSampling(prediction, schedule)


def copy_controls_to_uncond(positive: list, negative: list) -> None:
    """ControlNetApply's controls (control_apply_to_uncond) put on the negative side (in place), as ComfyUI.

    Only when no whole-image negative entry has a control of its own: each control of a whole-image
    positive entry goes onto the whole-image negative entries without one, in turn.
    """
    controls = [c.control for c in positive
                if c.options.get("control_apply_to_uncond", False) and c.area is None and c.control is not None]
    whole = [(i, c) for i, c in enumerate(negative) if c.area is None]
    if not controls or any(c.control is not None for _, c in whole):
        return
    for index, control in enumerate(controls):
        if not whole:
            return
        position, original = whole[index % len(whole)]
        negative[position] = replace(original, control=control)
