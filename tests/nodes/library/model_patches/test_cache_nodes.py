"""EasyCache and LazyCache in a real sampling loop on a tiny UNet: threshold 0 changes nothing, a large one skips."""

from __future__ import annotations

import pytest
import torch

from diffusion.sampling.discrete import DiscreteSchedule
from diffusion.sampling.samplers_euler import sample_euler
from nodes.library.model_patches.cache_patches import EasyCache, LazyCache
from tests.nodes.library.model_patches.patch_fixtures import guided, tiny_unet_handle
from tests.nodes.sd_fakes import values

SIGMAS = torch.cat([DiscreteSchedule().sigmas[[900, 700, 500, 350, 200, 100]], torch.zeros(1)])
SHAPE = (1, 4, 8, 8)
OPTION = {EasyCache: "diffusion_model_wrapper", LazyCache: "model_function_wrapper"}


def _sample(handle, cfg=2.0):
    """The euler result and how many times the UNet ran."""
    calls = []
    hook = handle.model.register_forward_pre_hook(lambda module, args: calls.append(1))
    try:
        x = torch.randn(SHAPE, generator=torch.Generator().manual_seed(3)) * SIGMAS[0]
        with torch.no_grad():
            out = sample_euler(guided(handle, cfg, shape=SHAPE, dim=handle.model.config.context_dim), x, SIGMAS)
    finally:
        hook.remove()
    return out, len(calls)


def _patched(node, make_ctx, handle, threshold, start=0.0, end=1.0):
    (patched,) = values(node, make_ctx(), model=handle, reuse_threshold=threshold, start_percent=start,
                        end_percent=end, verbose=False)
    return patched, patched.options[OPTION[node]]


@pytest.mark.parametrize("node", [EasyCache, LazyCache])
def test_threshold_zero_never_skips(make_ctx, node):
    handle = tiny_unet_handle()
    plain, plain_calls = _sample(handle)
    patched, cache = _patched(node, make_ctx, handle, 0.0)
    out, calls = _sample(patched)
    assert calls == plain_calls == 6  # cond and uncond batched: one UNet call per step
    assert torch.equal(out, plain)
    assert cache.steps_skipped == 0 and handle.options == {}


@pytest.mark.parametrize("node", [EasyCache, LazyCache])
def test_a_large_threshold_skips_every_step_after_the_rate_is_known(make_ctx, node):
    handle = tiny_unet_handle()
    plain, _ = _sample(handle)
    patched, cache = _patched(node, make_ctx, handle, 3.0)
    out, calls = _sample(patched)
    # steps 0 and 1 must run (no input change, then no transformation rate yet); the summed estimated
    # change of the other four stays below 3, so they reuse the cached difference
    assert calls == 2 and cache.steps_skipped == 4 and cache.cumulative < 3.0
    assert torch.isfinite(out).all() and not torch.equal(out, plain)
    again, calls = _sample(patched)  # a second run starts afresh (sigma grew)
    assert calls == 2 and torch.equal(again, out)


def test_the_start_percent_delays_skipping(make_ctx):
    handle = tiny_unet_handle()
    # start 0.5 -> sigma at timestep 499.5: the window begins at step 3 (timestep 350)
    patched, cache = _patched(EasyCache, make_ctx, handle, 3.0, start=0.5)
    _, calls = _sample(patched)
    assert calls == 5 and cache.steps_skipped == 1
    # end 0.5: steps 0 and 1 run, step 2 (timestep 500) is skipped, the last three run uncached
    patched, cache = _patched(EasyCache, make_ctx, handle, 3.0, end=0.5)
    _, calls = _sample(patched)
    assert calls == 5 and cache.steps_skipped == 1


@pytest.mark.parametrize("inputs, message", [
    ({"reuse_threshold": 3.5}, "'reuse_threshold' must be between"), ({"start_percent": -0.1}, "'start_percent'"),
    ({"end_percent": "x"}, "'end_percent' must be a number"), ({"verbose": "no"}, "'verbose' must be a boolean"),
])
def test_bad_inputs_are_refused(make_ctx, inputs, message):
    args = {"reuse_threshold": 0.2, "start_percent": 0.15, "end_percent": 0.95, "verbose": False, **inputs}
    with pytest.raises((TypeError, ValueError), match=f"EasyCache: input {message}"):
        values(EasyCache, make_ctx(), model=tiny_unet_handle(), **args)
    with pytest.raises(TypeError, match="LazyCache: input 'model' must be a MODEL"):
        values(LazyCache, make_ctx(), model=object(), reuse_threshold=0.2, start_percent=0.1, end_percent=0.9,
               verbose=False)
