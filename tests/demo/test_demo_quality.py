"""The quality bench's cases: held-out prompts only, edits that really change something, masks
that cover the shape and leave the background outside."""

import numpy as np
import pytest
import torch

from diffusion.demo.generate import denoise_latents
from diffusion.demo.quality import inpaint_cases, inpaint_mask, recolour_cases, txt2img_cases
from diffusion.demo.shapes import SIZES, Scene, all_scenes, heldout_triples, render, scene_centre, shape_mask


def test_txt2img_cases_are_heldout_and_seeded():
    cases = txt2img_cases(200, seed=0)
    assert len(cases) == 200 and len({c.seed for c in cases}) == 200
    assert all(c.target.triple in heldout_triples() for c in cases)
    assert [c.target for c in cases] == [c.target for c in txt2img_cases(200, seed=0)]


def test_edit_cases_change_exactly_one_attribute():
    for case in recolour_cases(50, seed=0):
        assert case.target.triple in heldout_triples()
        assert case.source.color not in (case.target.color, case.target.background)
        assert (case.source.shape, case.source.position) == (case.target.shape, case.target.position)
    for case in inpaint_cases(50, seed=0):
        assert case.source.shape != case.target.shape
        assert (case.source.color, case.source.background) == (case.target.color, case.target.background)


def test_inpaint_mask_covers_every_shape_and_keeps_the_border():
    for scene in all_scenes()[::17]:
        mask = inpaint_mask(scene).numpy()
        cx, cy = scene_centre(scene)
        for shape in ("circle", "square", "triangle", "star"):
            coverage = shape_mask(shape, cx, cy, SIZES["large"])
            assert mask[coverage > 0].min() == 1.0
        assert 0.1 < mask.mean() < 0.4


def test_mismatched_batches_are_refused():
    with pytest.raises(ValueError, match="one prompt and one seed per latent"):
        denoise_latents(None, torch.zeros(2, 4, 8, 8), ["a"], [1, 2])


def test_rendered_sources_differ_from_targets():
    case = recolour_cases(1, seed=3)[0]
    assert not np.array_equal(render(case.source), render(case.target))
    assert isinstance(case.target, Scene)
