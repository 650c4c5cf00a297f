"""SD_4XUpscale_Conditioning: the concat image (1/4 of the scaled size, -1..1), noise level and empty latent."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from nodes.library.conditioning.sd4x_upscale import SD_4XUpscale_Conditioning
from tests.nodes.sd_fakes import conditioning, same_conditioning, snapshot, values


def run(make_ctx, **inputs):
    return values(SD_4XUpscale_Conditioning, make_ctx(), **inputs)


def test_concat_image_noise_level_and_latent(make_ctx):
    images = torch.rand(2, 16, 24, 3, generator=torch.Generator().manual_seed(0))
    positive, negative = conditioning(seed=1), conditioning(seed=2)
    before = snapshot(positive)
    pos, neg, latent = run(make_ctx, images=images, positive=positive, negative=negative, scale_ratio=2.0,
                           noise_augmentation=0.25)
    # scaled to 48x32, so the latent and the concat image are 12x8; same aspect: no crop, a plain bilinear resize
    assert latent["samples"].shape == (2, 4, 8, 12) and not latent["samples"].any()
    expected = F.interpolate(images.movedim(-1, 1) * 2 - 1, size=(8, 12), mode="bilinear")
    for out, source in ((pos, positive), (neg, negative)):
        assert len(out) == len(source) and out[0][0] is source[0][0]
        torch.testing.assert_close(out[0][1]["concat_image"], expected)
        assert out[0][1]["noise_augmentation"] == 0.25
        rest = [[out[0][0], {k: v for k, v in out[0][1].items() if k not in ("concat_image", "noise_augmentation")}]]
        assert same_conditioning(rest, source[:1])
    assert same_conditioning(positive, before)  # inputs unchanged


def test_at_ratio_four_the_concat_image_is_the_input_and_odd_sizes_round(make_ctx):
    images = torch.rand(1, 8, 12, 4)  # RGBA: only RGB goes to the model
    pos, _, latent = run(make_ctx, images=images, positive=conditioning(), negative=conditioning(), scale_ratio=4.0,
                         noise_augmentation=0.0)
    torch.testing.assert_close(pos[0][1]["concat_image"], images[..., :3].movedim(-1, 1) * 2 - 1)
    assert latent["samples"].shape == (1, 4, 8, 12)
    _, _, odd = run(make_ctx, images=torch.rand(1, 7, 9, 3), positive=conditioning(), negative=conditioning(),
                    scale_ratio=1.5, noise_augmentation=0.0)
    assert odd["samples"].shape == (1, 4, round(7 * 1.5) // 4, round(9 * 1.5) // 4)  # 10x14 -> 2x3


def test_bad_input_names_the_input(make_ctx):
    good = {"positive": conditioning(), "negative": conditioning(), "noise_augmentation": 0.0}
    with pytest.raises(ValueError, match="input 'scale_ratio'"):
        run(make_ctx, images=torch.rand(1, 8, 8, 3), scale_ratio=0.1, **good)
    with pytest.raises(ValueError, match="input 'images'"):
        run(make_ctx, images=torch.rand(8, 8), scale_ratio=4.0, **good)
    with pytest.raises(TypeError, match="input 'negative'"):
        run(make_ctx, images=torch.rand(1, 8, 8, 3), scale_ratio=4.0, positive=conditioning(), negative="x",
            noise_augmentation=0.0)
