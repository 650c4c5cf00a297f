"""InpaintModelConditioning and InstructPixToPixConditioning with a fake VAE whose latent is known in closed form."""

import pytest
import torch

from diffusion.sampling.inpaint_concat import inpaint_concat
from nodes.library.conditioning.image_conditioning import InpaintModelConditioning, InstructPixToPixConditioning
from tests.nodes.sd_fakes import conditioning, same_conditioning, snapshot, values


class PoolingVAE:
    """Encodes like the real handle's crop (centred, to a multiple of 8), then averages each 8x8 block.

    Latent channel c < 3 is the block mean of colour c, channel 3 is 1; it records what it was given.
    """

    downscale = 8

    def __init__(self) -> None:
        self.seen: list[torch.Tensor] = []

    def encode(self, image: torch.Tensor) -> torch.Tensor:
        self.seen.append(image.clone())
        height, width = image.shape[1] // 8 * 8, image.shape[2] // 8 * 8
        top, left = (image.shape[1] - height) // 2, (image.shape[2] - width) // 2
        image = image[:, top:top + height, left:left + width, :3].movedim(-1, 1)
        pooled = torch.nn.functional.avg_pool2d(image, 8)
        return torch.cat([pooled, torch.ones_like(pooled[:, :1])], dim=1)

    def decode(self, latent):
        raise AssertionError("not used")


@pytest.fixture
def ctx(make_ctx):
    return make_ctx()


def test_inpaint_conditioning_greys_the_masked_block_and_sets_both_conditionings(ctx):
    pixels = torch.full((1, 16, 16, 3), 0.9)
    mask = torch.zeros(1, 16, 16)
    mask[:, :8, :8] = 1.0  # the top-left latent pixel is repainted
    mask[:, 8:, 8:] = 0.4  # rounds to 0: kept
    positive, negative = conditioning(seed=1), conditioning(seed=2)
    before = snapshot(positive)
    vae = PoolingVAE()
    pos, neg, latent = values(InpaintModelConditioning, ctx, positive=positive, negative=negative, vae=vae,
                              pixels=pixels, mask=mask, noise_mask=True)
    concat = pos[0][1]["concat_latent_image"]
    # Hand-worked: the masked block becomes mid grey, the others keep 0.9.
    expected = torch.tensor([[0.5, 0.9], [0.9, 0.9]])
    for channel in range(3):
        assert torch.allclose(concat[0, channel], expected)
    assert torch.equal(concat[0, 3], torch.ones(2, 2))
    assert torch.allclose(latent["samples"][0, 0], torch.full((2, 2), 0.9))
    assert torch.equal(latent["noise_mask"], mask.reshape(1, 1, 16, 16))  # not rounded, as in ComfyUI
    assert neg[0][1]["concat_latent_image"] is concat and pos[0][1]["concat_mask"] is neg[0][1]["concat_mask"]
    assert torch.equal(pos[0][1]["concat_mask"], mask.reshape(1, 1, 16, 16))
    assert torch.equal(pos[0][0], positive[0][0]) and "pooled_output" in pos[0][1]
    assert same_conditioning(positive, before) and "concat_mask" not in positive[0][1]
    assert torch.equal(pixels, torch.full((1, 16, 16, 3), 0.9))  # the input image is not written to


def test_inpaint_conditioning_is_what_the_inpaint_sampler_reads(ctx):
    pixels = torch.rand(1, 16, 16, 3, generator=torch.Generator().manual_seed(0))
    mask = torch.zeros(1, 16, 16)
    mask[:, :8, 8:] = 1.0
    pos, _, latent = values(InpaintModelConditioning, ctx, positive=conditioning(), negative=conditioning(),
                            vae=PoolingVAE(), pixels=pixels, mask=mask, noise_mask=False)
    assert "noise_mask" not in latent
    extra = inpaint_concat(pos[0][1], latent_image=torch.zeros(1, 4, 2, 2), noise_mask=None,
                           process_in=lambda t: t)
    assert torch.equal(extra[0, 0], torch.tensor([[0.0, 1.0], [0.0, 0.0]]))  # the mask at latent size
    assert torch.allclose(extra[0, 1:], pos[0][1]["concat_latent_image"][0])


def test_inpaint_conditioning_crops_like_the_vae_and_resizes_the_mask(ctx):
    pixels = torch.full((1, 19, 21, 3), 0.2)
    mask = torch.ones(1, 4, 4)  # resized to 19x21, then cropped to 16x16 with the image
    vae = PoolingVAE()
    pos, _, latent = values(InpaintModelConditioning, ctx, positive=conditioning(), negative=conditioning(),
                            vae=vae, pixels=pixels, mask=mask, noise_mask=True)
    assert latent["noise_mask"].shape == (1, 1, 16, 16)
    assert torch.allclose(latent["noise_mask"], torch.ones(1, 1, 16, 16))
    assert vae.seen[0].shape == (1, 16, 16, 3) and torch.allclose(vae.seen[0], torch.full((1, 16, 16, 3), 0.5))
    assert vae.seen[1].shape == (1, 19, 21, 3)  # the whole image: the VAE crops it itself
    assert pos[0][1]["concat_latent_image"].shape == latent["samples"].shape == (1, 4, 2, 2)
    # The crop is centred: rows 1..16 and columns 2..17 of 19x21, so this mask covers the first block only.
    mask = torch.zeros(1, 19, 21)
    mask[:, 1:9, 2:10] = 1.0
    pos, _, latent = values(InpaintModelConditioning, ctx, positive=conditioning(), negative=conditioning(),
                            vae=PoolingVAE(), pixels=pixels, mask=mask, noise_mask=True)
    assert torch.allclose(pos[0][1]["concat_latent_image"][0, 0], torch.tensor([[0.5, 0.2], [0.2, 0.2]]))
    assert torch.equal(latent["noise_mask"][0, 0], mask[0, 1:17, 2:18])


def test_inpaint_conditioning_refuses_bad_inputs_naming_them(ctx):
    good = dict(positive=conditioning(), negative=conditioning(), vae=PoolingVAE(), pixels=torch.zeros(2, 16, 16, 3),
                mask=torch.zeros(1, 16, 16), noise_mask=True)
    with pytest.raises(ValueError, match="InpaintModelConditioning: input 'mask' has 3 masks for 2 images"):
        values(InpaintModelConditioning, ctx, **{**good, "mask": torch.zeros(3, 16, 16)})
    with pytest.raises(ValueError, match="input 'mask' must be a MASK"):
        values(InpaintModelConditioning, ctx, **{**good, "mask": torch.zeros(1, 1, 16, 16)})
    with pytest.raises(ValueError, match="input 'pixels' must be an IMAGE"):
        values(InpaintModelConditioning, ctx, **{**good, "pixels": torch.zeros(16, 16, 3)})
    with pytest.raises(ValueError, match="input 'pixels': an image of 5x16 is smaller than 8x8"):
        values(InpaintModelConditioning, ctx, **{**good, "pixels": torch.zeros(1, 16, 5, 3)})
    with pytest.raises(TypeError, match="InpaintModelConditioning: input 'negative' must be a CONDITIONING"):
        values(InpaintModelConditioning, ctx, **{**good, "negative": "cat"})
    with pytest.raises(RuntimeError, match="input 'vae' is None"):
        values(InpaintModelConditioning, ctx, **{**good, "vae": None})


def test_instruct_pix2pix_sets_the_image_latent_and_returns_zeros(ctx):
    pixels = torch.zeros(1, 16, 8, 3)
    pixels[:, 8:] = 1.0
    positive = conditioning(seed=3)
    before = snapshot(positive)
    pos, neg, latent = values(InstructPixToPixConditioning, ctx, positive=positive, negative=conditioning(),
                              vae=PoolingVAE(), pixels=pixels)
    concat = pos[0][1]["concat_latent_image"]
    assert torch.equal(concat[0, 0], torch.tensor([[0.0], [1.0]]))
    assert neg[0][1]["concat_latent_image"] is concat and "concat_mask" not in pos[0][1]
    assert torch.equal(latent["samples"], torch.zeros(1, 4, 2, 1))
    assert same_conditioning(positive, before)
    with pytest.raises(ValueError, match="InstructPixToPixConditioning: input 'pixels'"):
        values(InstructPixToPixConditioning, ctx, positive=positive, negative=positive, vae=PoolingVAE(),
               pixels=torch.zeros(1, 4, 4, 3))
