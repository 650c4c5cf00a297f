"""EasyCache and LazyCache: skip model evaluations whose input barely changed (ComfyUI's nodes_easycache).

A `StepCache` is a wrapper fn(apply, args) -> output (model_hooks.py: EasyCache wraps the UNet
call, LazyCache the whole evaluation x -> denoised). Each call stores output - input (the cache
diff). Within the window sigma_end < sigma <= sigma_start, at the first call of each step:
- input_change = mean |x - x_prev| (both subsampled every 8th pixel), and once the previous
  steps gave a relative transformation rate k = output_change / input_change, the cumulative
  change rate grows by k * input_change / mean|output_prev|;
- while it stays below `reuse_threshold`, the step is skipped: every call of the step returns its
  input plus its own cached diff, and the UNet is not run; once it reaches the threshold the step
  runs and the rate restarts at 0.
The calls of one step are told apart by their order (ComfyUI: by the conditioning's uuid); a new
step starts when sigma changes, a new run when sigma grows or the input's shape, dtype or device
changes (ComfyUI resets in an outer-sample wrapper). At or below sigma_end nothing is cached.
Threshold 0 never skips: the output is the unwrapped one, bit for bit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import torch

SUBSAMPLE = 8
LOG = logging.getLogger(__name__)


class StepCache:
    def __init__(self, name: str, reuse_threshold: float, sigma_start: float, sigma_end: float,
                 verbose: bool = False, output_channels: int | None = None) -> None:
        self.name = name
        self.reuse_threshold = float(reuse_threshold)
        self.sigma_start, self.sigma_end = float(sigma_start), float(sigma_end)
        self.verbose = verbose
        self.output_channels = output_channels
        self.model_calls = 0  # evaluations that ran the wrapped function (over the object's life)
        self.reset()

    def reset(self) -> None:
        self.rate: float | None = None  # relative transformation rate
        self.cumulative = 0.0
        self.started = False
        self.skip_step = False
        self.step_sigma: float | None = None
        self.call_index = -1
        self.x_prev: torch.Tensor | None = None
        self.out_prev: torch.Tensor | None = None
        self.out_prev_norm: float | None = None
        self.diffs: dict[int, torch.Tensor] = {}
        self.metadata: tuple | None = None
        self.steps_skipped = 0

    def _track(self, x: torch.Tensor, sigma: float) -> None:
        """Start a new run or step, count the call within the step."""
        metadata = (x.device, x.dtype, tuple(x.shape[1:]))
        if (self.step_sigma is not None and sigma > self.step_sigma) or \
                (self.metadata is not None and metadata != self.metadata):
            if self.verbose:
                LOG.info("%s: new run (skipped %d steps in the last)", self.name, self.steps_skipped)
            self.reset()
        self.metadata = metadata
        if sigma != self.step_sigma:
            self.step_sigma, self.call_index, self.skip_step = sigma, -1, False
        self.call_index += 1

    def _cached(self, x: torch.Tensor, index: int) -> torch.Tensor:
        diff = self.diffs[index]
        if diff.shape != x[:, :diff.shape[1]].shape:
            raise ValueError(f"{self.name}: the cached output has shape {tuple(diff.shape)}, the input "
                             f"{tuple(x.shape)}")
        return x[:, :diff.shape[1]] + diff.to(x.device)

    def __call__(self, apply: Callable, args: dict) -> torch.Tensor:
        x, c = args["input"], args["c"]
        sigmas = args.get("sigmas", args["timestep"])
        sigma = float(sigmas.reshape(-1)[0])
        run_args = (x, args["timestep"])
        if sigma <= self.sigma_end:
            self.model_calls += 1
            return apply(*run_args, **c)
        self._track(x, sigma)
        index = self.call_index
        channels = self.output_channels or x.shape[1]
        head = x[:, :channels]
        first = False
        input_change = None
        if sigma <= self.sigma_start:
            self.started = True
            first = index == 0
            cached = index in self.diffs
            if self.skip_step and cached:
                return self._cached(x, index)
            if first and self.x_prev is not None:
                input_change = float((_subsample(head) - self.x_prev).abs().mean())
                if self.out_prev_norm is not None and self.rate is not None:
                    self.cumulative += self.rate * input_change / self.out_prev_norm
                    if self.cumulative < self.reuse_threshold and cached:
                        self.skip_step = True
                        self.steps_skipped += 1
                        if self.verbose:
                            LOG.info("%s: skipping the step at sigma %.4g (change %.4g < %.4g)", self.name, sigma,
                                     self.cumulative, self.reuse_threshold)
                        return self._cached(x, index)
                    self.cumulative = 0.0
        output = apply(*run_args, **c)
        self.model_calls += 1
        if first and self.out_prev is not None:
            output_change = float((_subsample(output) - self.out_prev).abs().mean())
            if input_change:
                self.rate = output_change / input_change
        self.diffs[index] = output - head
        if first:
            self.x_prev, self.out_prev = _subsample(head).clone(), _subsample(output).clone()
            self.out_prev_norm = float(output.abs().mean())
        return output


def _subsample(x: torch.Tensor) -> torch.Tensor:
    return x[..., ::SUBSAMPLE, ::SUBSAMPLE]
