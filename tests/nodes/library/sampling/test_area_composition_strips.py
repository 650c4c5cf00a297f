"""ComfyUI's area-composition layout: a 704x1280 latent with four 704x384 ConditioningSetArea strips.

Several areas of one size batched together next to full-size conds used to crash in the guided
denoiser ("The size of tensor a (160) must match the size of tensor b (48)"): picking a batch
compared the work items with ==, which compared their tensors of different shapes.
"""

# The fixtures imported from sd_fixtures are used as test arguments (pytest's by-name injection).
# ruff: noqa: F811

from __future__ import annotations

import pytest
import torch

from diffusion.sampling.cfg import GuidedDenoiser
from diffusion.sampling.conds import add_opposite_areas, prepare_conditioning
from diffusion.sampling.discrete import DiscreteSchedule
from nodes.library.conditioning.clip_text import CLIPTextEncode
from nodes.library.conditioning.edit import ConditioningCombine, ConditioningSetArea
from nodes.library.sampling.ksampler import KSampler
from tests.nodes.sd_fixtures import call, context, sd_runtime, tiny_files, tiny_models  # noqa: F401

STRIP_YS = (0, 312, 512, 704)
LATENT_SHAPE = (1, 4, 1280 // 8, 704 // 8)


def _strips(ctx, clip):
    strips = []
    for i, y in enumerate(STRIP_YS):
        text = call(CLIPTextEncode, ctx, text=f"part {i} of the sky", clip=clip)[0]
        strips.append(call(ConditioningSetArea, ctx, conditioning=text, width=704, height=384, x=0, y=y,
                           strength=1.0)[0])
    return strips


def _combined(ctx, entries):
    result = entries[0]
    for entry in entries[1:]:
        result = call(ConditioningCombine, ctx, conditioning_1=result, conditioning_2=entry)[0]
    return result


def test_ksampler_runs_the_four_strip_layout(sd_runtime, tiny_models):
    """The strips combined before the full prompt (as in ComfyUI's example), one step at full size."""
    model, clip = tiny_models["sd15"].model, tiny_models["sd15"].clip
    ctx = context(sd_runtime)
    whole = call(CLIPTextEncode, ctx, text="a landscape", clip=clip)[0]
    negative = call(CLIPTextEncode, ctx, text="blurry", clip=clip)[0]
    (out,) = call(KSampler, ctx, model=model, seed=3, steps=1, cfg=7.0, sampler_name="euler", scheduler="normal",
                  positive=_combined(ctx, [*_strips(ctx, clip), whole]), negative=negative,
                  latent_image={"samples": torch.zeros(LATENT_SHAPE)}, denoise=1.0)
    assert out["samples"].shape == LATENT_SHAPE and torch.isfinite(out["samples"]).all()


class MeanOfContext:
    def __call__(self, x, sigma, context=None, y=None, concat=None):
        return context.mean(dim=(1, 2)).reshape(-1, 1, 1, 1).expand_as(x).clone()


@pytest.mark.parametrize("full_prompt", [False, True])
def test_strips_average_where_they_overlap(full_prompt):
    """Strip k has text value k + 1: each row sees the (edge-feathered) mean of the strips covering it."""
    schedule = DiscreteSchedule()
    strips = [[torch.full((1, 4, 8), float(k + 1)), {"area": (48, 88, y // 8, 0), "strength": 1.0}]
              for k, y in enumerate(STRIP_YS)]
    if full_prompt:  # a full-size prompt after the strips, with no weight: it must not change the averages
        strips.append([torch.full((1, 4, 8), 100.0), {"strength": 0.0}])
    positive = prepare_conditioning(strips, which="positive", latent_shape=LATENT_SHAPE, schedule=schedule)
    negative = prepare_conditioning([[torch.zeros(1, 4, 8), {}]], which="negative", latent_shape=LATENT_SHAPE,
                                    schedule=schedule)
    add_opposite_areas(positive, negative)
    guided = GuidedDenoiser(MeanOfContext(), positive, negative, 2.0)  # the negative predicts 0 everywhere
    column = guided(torch.zeros(LATENT_SHAPE), torch.tensor(2.0))[0, 0, :, 44] / 2.0
    assert float(column[20]) == pytest.approx(1.0)  # strip 0 only (rows 0-47)
    assert float(column[43]) == pytest.approx(1.5, abs=0.05)  # strips 0 and 1 overlap (rows 39-47)
    assert float(column[100]) == pytest.approx(3.5, abs=0.05)  # strips 2 (64-111) and 3 (88-135)
    assert float(column[125]) == pytest.approx(4.0)  # strip 3 only
