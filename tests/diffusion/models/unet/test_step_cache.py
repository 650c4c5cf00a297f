"""StepCache (EasyCache / LazyCache): when steps are skipped, worked by hand on a linear model."""

from __future__ import annotations

import torch

from diffusion.models.unet.step_cache import StepCache


class Model:
    """output = 2 * x + 1, counting calls."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, x, t, **c):
        self.calls += 1
        return 2 * x + 1


def _args(x, sigma):
    return {"input": x, "timestep": torch.full((x.shape[0],), sigma), "c": {}}


def _run(cache, model, xs, sigmas, calls_per_step=1):
    outs = []
    for x, sigma in zip(xs, sigmas, strict=True):
        for _ in range(calls_per_step):
            outs.append(cache(model, _args(x, sigma)))
    return outs


XS = [torch.full((1, 4, 8, 8), value) for value in (1.0, 2.0, 2.1, 2.2, 2.3, 4.0)]
SIGMAS = [6.0, 5.0, 4.0, 3.0, 2.0, 1.0]


def test_threshold_zero_never_skips():
    cache, model = StepCache("EasyCache", 0.0, 1e9, 0.0), Model()
    outs = _run(cache, model, XS, SIGMAS)
    assert model.calls == len(XS)
    for x, out in zip(XS, outs, strict=True):
        assert torch.equal(out, 2 * x + 1)


def test_steps_are_skipped_while_the_estimated_change_stays_below_the_threshold():
    # The input change is measured against the last step that ran (as in ComfyUI).
    # step 0 (x 1) runs; step 1 (x 2) runs and measures k = |dout| / |dx| = 2 / 1;
    # step 2 (x 2.1): rate += k * 0.1 / mean|out_1| (5) = 0.04 < 0.1: skipped, x + (out_1 - x_1) = 5.1;
    # step 3 (x 2.2): rate += 2 * 0.2 / 5 = 0.08 -> 0.12: runs (rate back to 0), k = 0.4 / 0.2 = 2;
    # step 4 (x 2.3): rate = 2 * 0.1 / 5.4 = 0.037: skipped, 2.3 + (5.4 - 2.2) = 5.5 (the model says 5.6);
    # step 5 (x 4): rate += 2 * 1.8 / 5.4: runs.
    cache, model = StepCache("EasyCache", 0.1, 1e9, 0.0), Model()
    outs = _run(cache, model, XS, SIGMAS)
    assert model.calls == 4 and cache.steps_skipped == 2 and cache.model_calls == 4
    torch.testing.assert_close(outs[2], torch.full_like(XS[2], 5.1))
    assert torch.equal(outs[3], 2 * XS[3] + 1)
    torch.testing.assert_close(outs[4], torch.full_like(XS[4], 5.5))
    assert torch.equal(outs[5], 2 * XS[5] + 1)


def test_every_call_of_a_skipped_step_reuses_its_own_diff():
    cache, model = StepCache("EasyCache", 0.1, 1e9, 0.0), Model()
    outs = _run(cache, model, XS[:3], SIGMAS[:3], calls_per_step=2)
    assert model.calls == 4  # steps 0 and 1 ran both calls, step 2 none
    torch.testing.assert_close(outs[4], outs[5])


def test_the_window_limits_skipping():
    # start at sigma 3: the rates are first measured at steps 3 and 4, so only step 5 may skip
    cache, model = StepCache("LazyCache", 3.0, 3.0, 0.0), Model()
    _run(cache, model, XS, SIGMAS)
    assert model.calls == 5
    # at or below sigma_end nothing is cached or skipped
    cache, model = StepCache("LazyCache", 3.0, 1e9, 4.5), Model()
    _run(cache, model, XS, SIGMAS)
    assert model.calls == 6 and cache.steps_skipped == 0  # only steps 0 and 1 are in the window


def test_a_new_run_starts_when_sigma_grows():
    cache, model = StepCache("EasyCache", 3.0, 1e9, 0.0), Model()
    _run(cache, model, XS[:4], SIGMAS[:4])
    assert model.calls == 2
    _run(cache, model, XS[:4], SIGMAS[:4])
    assert model.calls == 4 and cache.steps_skipped == 2


def test_a_shape_change_resets_the_cache():
    cache, model = StepCache("EasyCache", 3.0, 1e9, 0.0), Model()
    _run(cache, model, XS[:2], SIGMAS[:2])
    _run(cache, model, [torch.full((1, 4, 16, 16), 2.1)], [4.0])
    assert model.calls == 3 and cache.steps_skipped == 0
