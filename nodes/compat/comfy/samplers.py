"""ComfyUI's `comfy.samplers` for packs: KSampler (class lists and the sampling object), sampler_object,
calculate_sigmas, KSAMPLER and the name lists, answered by diffusion/sampling.

`KSampler.SAMPLERS` / `KSampler.SCHEDULERS` are latentgraph's names in ComfyUI's order (what the
KSampler node's combos list). `KSampler(model, steps, device, sampler=..., scheduler=..., denoise=...)`
computes its sigmas as the KSampler node does, and `.sample(noise, positive, negative, cfg, latent_image=...)`
runs the same sampling (diffusion.sampling.sample), so a pack gets our KSampler's output for the same
seed. A SAMPLER value is what the KSamplerSelect node gives: `sampler_object(name)` makes one.
"""

from __future__ import annotations

from typing import Any

import torch

from diffusion.sampling import schedules
from diffusion.sampling.discrete import DiscreteSchedule, schedule_of
from diffusion.sampling.names import SAMPLER_NAMES as _SAMPLER_NAMES
from diffusion.sampling.names import SCHEDULER_NAMES as _SCHEDULER_NAMES
from diffusion.sampling.registry import DISCARD_PENULTIMATE_SIGMA
from diffusion.sampling.sample import sample_with_sigmas
from diffusion.sampling.sigma_plan import check_names, denoise_sigmas, step_window
from graph.context import NodeContext
from nodes.compat import core_nodes
from nodes.compat.patcher_methods import install as _install_patcher_methods

_install_patcher_methods()

SAMPLER_NAMES = list(_SAMPLER_NAMES)
SCHEDULER_NAMES = list(_SCHEDULER_NAMES)
KSAMPLER_NAMES = [name for name in SAMPLER_NAMES if name not in ("ddim", "uni_pc", "uni_pc_bh2")]

__all__ = ["KSAMPLER", "KSAMPLER_NAMES", "SAMPLER_NAMES", "SCHEDULER_NAMES", "KSampler",
           "calculate_sigmas", "is_sampler_value", "load_model_for_sampling",
           "sampler_object"]


def sampler_object(name: str) -> Any:
    """The SAMPLER value of a built-in sampler: what latentgraph's KSamplerSelect node outputs for `name`."""
    check_names(name)
    select = core_nodes.declared_node("KSamplerSelect")
    return select.run(NodeContext(node_id="", prompt_id="", class_type="KSamplerSelect"), sampler_name=name)[0]


def is_sampler_value(value: Any) -> bool:
    """True for a SAMPLER value (the type KSamplerSelect outputs)."""
    return isinstance(value, type(sampler_object(SAMPLER_NAMES[0])))


class KSAMPLER:
    """ComfyUI's wrapper of a custom k-diffusion sampler function: not supported."""

    def __init__(self, sampler_function: Any = None, extra_options: Any = None, inpaint_options: Any = None):
        raise NotImplementedError(
            "comfy.samplers.KSAMPLER: latentgraph's SAMPLER sockets carry built-in samplers only, not custom "
            "sampler functions; use comfy.samplers.sampler_object(name) with a name in "
            "comfy.samplers.SAMPLER_NAMES (or the Sampler* nodes for their options)")


def _schedule(model_sampling: Any) -> DiscreteSchedule:
    if isinstance(model_sampling, DiscreteSchedule):
        return model_sampling
    if callable(getattr(model_sampling, "clone", None)) and hasattr(model_sampling, "model_info"):
        return schedule_of(model_sampling)  # a MODEL given where its model_sampling was meant
    raise TypeError("comfy.samplers.calculate_sigmas: model_sampling must be what "
                    f"model.get_model_object('model_sampling') returns, got {type(model_sampling).__name__}")


def calculate_sigmas(model_sampling: Any, scheduler_name: str, steps: int) -> torch.Tensor:
    """`steps` + 1 sigmas ending in 0 of `scheduler_name` on the model's schedule (BasicScheduler's)."""
    check_names("euler", scheduler_name)
    return schedules.calculate_sigmas(_schedule(model_sampling), scheduler_name, int(steps))


def load_model_for_sampling(model: Any) -> None:
    """Put the model on its compute device through the current runtime's model manager (when there is one)."""
    from nodes.compat.core_nodes import current_runtime

    runtime = current_runtime(required=False)
    if runtime is not None:
        runtime.models.load([model])


class KSampler:
    """ComfyUI's KSampler: the name lists, and an object that samples with a model's schedule."""

    SAMPLERS = SAMPLER_NAMES
    SCHEDULERS = SCHEDULER_NAMES
    DISCARD_PENULTIMATE_SIGMA_SAMPLERS = set(DISCARD_PENULTIMATE_SIGMA)

    def __init__(self, model: Any, steps: int, device: Any = None, sampler: str | None = None,
                 scheduler: str | None = None, denoise: float | None = None, model_options: dict | None = None):
        if model_options:
            raise ValueError("comfy.samplers.KSampler: model_options are not taken here; put them on the model "
                             "(model.clone() and its set_model_* methods)")
        self.model = model
        self.device = device
        self.sampler = sampler if sampler is not None else SAMPLER_NAMES[0]
        self.scheduler = scheduler if scheduler is not None else SCHEDULER_NAMES[0]
        check_names(self.sampler, self.scheduler)
        self.set_steps(steps, denoise)

    def calculate_sigmas(self, steps: int) -> torch.Tensor:
        return denoise_sigmas(schedule_of(self.model), self.scheduler, self.sampler, steps, 1.0)

    def set_steps(self, steps: int, denoise: float | None = None) -> None:
        self.steps = int(steps)
        self.denoise = 1.0 if denoise is None else float(denoise)
        self.sigmas = denoise_sigmas(schedule_of(self.model), self.scheduler, self.sampler, self.steps, self.denoise)

    def sample(self, noise: torch.Tensor, positive: list, negative: list, cfg: float,
               latent_image: torch.Tensor | None = None, start_step: int | None = None, last_step: int | None = None,
               force_full_denoise: bool = False, denoise_mask: torch.Tensor | None = None,
               sigmas: torch.Tensor | None = None, callback: Any = None, disable_pbar: bool = False,
               seed: int | None = None) -> torch.Tensor:
        """The sampled latent (unscaled, CPU), as the KSampler node computes it.

        `callback(step, x0, x, total_steps)` after each step; `disable_pbar` has no effect (no bars here)."""
        if latent_image is None:
            latent_image = torch.zeros_like(noise)
        sigmas = self.sigmas if sigmas is None else torch.as_tensor(sigmas, dtype=torch.float32)
        sigmas = step_window(sigmas, start_step, last_step, force_full_denoise)
        if sigmas is None or len(sigmas) == 0:
            return latent_image
        load_model_for_sampling(self.model)
        samples, _ = sample_with_sigmas(self.model, noise, positive, negative, cfg=cfg, sampler_name=self.sampler,
                                        sigmas=sigmas, latent=latent_image, noise_mask=denoise_mask, seed=seed,
                                        callback=callback)
        return samples


def __getattr__(name: str):
    raise AttributeError(f"module 'comfy.samplers' has no attribute {name!r}: latentgraph provides {', '.join(__all__)}")
