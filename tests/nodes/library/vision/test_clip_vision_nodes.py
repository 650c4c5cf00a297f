"""CLIPVisionLoader, CLIPVisionEncode and unCLIPConditioning; the `y` the sampler builds from unCLIP conditioning."""

from __future__ import annotations

import pytest
import torch

from diffusion.checkpoints.weight_kinds import write_kind
from diffusion.models.clip_vision.encode import ClipVisionOutput
from diffusion.models.clip_vision.unclip import noise_level_of, sqrt_alphas_cumprod
from diffusion.models.unet.blocks import timestep_embedding
from diffusion.sampling.conds import prepare_conditioning
from diffusion.sampling.discrete import DiscreteSchedule
from nodes.library.vision.clip_vision_nodes import CLIPVisionEncode, CLIPVisionLoader, unCLIPConditioning
from tests.nodes.sd_fakes import conditioning, same_conditioning, snapshot, values


@pytest.fixture
def ctx(make_ctx):
    return make_ctx()


def _output(embeds: torch.Tensor) -> ClipVisionOutput:
    return ClipVisionOutput(last_hidden_state=torch.zeros(1, 2, 4), penultimate_hidden_states=torch.zeros(1, 2, 4),
                            image_embeds=embeds)


def test_loader_and_encode_on_a_written_vit_h(ctx, runtime):
    folder = runtime.folders.model_paths("clip_vision")[0]
    write_kind("clip-vision-h", str(folder / "h.safetensors"), family=None, size="tiny", seed=0, dtype=torch.float16)
    (vision,) = values(CLIPVisionLoader, ctx, clip_name="h.safetensors")
    assert vision.config.kind == "vit-h"
    image = torch.rand(1, 40, 90, 3)
    (center,) = values(CLIPVisionEncode, ctx, clip_vision=vision, image=image, crop="center")
    (stretched,) = values(CLIPVisionEncode, ctx, clip_vision=vision, image=image, crop="none")
    assert center.image_embeds.shape == (1, 48) and center.last_hidden_state.shape == (1, 257, 32)
    assert not torch.allclose(center.image_embeds, stretched.image_embeds)
    with pytest.raises(TypeError, match="CLIPVisionEncode: input 'clip_vision' must be a CLIP_VISION"):
        values(CLIPVisionEncode, ctx, clip_vision="nope", image=image, crop="center")


def test_loader_refuses_a_file_of_unknown_layout(ctx, runtime):
    folder = runtime.folders.model_paths("clip_vision")[0]
    write_kind("clip-vision-l", str(folder / "l.safetensors"), family=None, size="tiny", seed=0, dtype=torch.float16)
    from safetensors.torch import load_file, save_file

    sd = {k: v for k, v in load_file(folder / "l.safetensors").items() if ".layers.2" not in k}
    save_file(sd, folder / "broken.safetensors")
    with pytest.raises(ValueError, match="CLIPVisionLoader: .*broken.safetensors: not a CLIP vision model of a known"):
        values(CLIPVisionLoader, ctx, clip_name="broken.safetensors")


def test_unclip_conditioning_appends_and_strength_zero_is_identity(ctx):
    cond = conditioning(dim=8)
    before = snapshot(cond)
    first, second = _output(torch.ones(1, 4)), _output(torch.zeros(1, 4))
    (once,) = values(unCLIPConditioning, ctx, conditioning=cond, clip_vision_output=first, strength=0.5,
                     noise_augmentation=0.25)
    (twice,) = values(unCLIPConditioning, ctx, conditioning=once, clip_vision_output=second, strength=1.0,
                      noise_augmentation=0.0)
    assert [u["strength"] for u in twice[0][1]["unclip_conditioning"]] == [0.5, 1.0]
    assert len(once[0][1]["unclip_conditioning"]) == 1 and same_conditioning(cond, before)
    (same,) = values(unCLIPConditioning, ctx, conditioning=cond, clip_vision_output=first, strength=0.0,
                     noise_augmentation=0.0)
    assert same_conditioning(same, cond)
    with pytest.raises(TypeError, match="must be a CLIP_VISION_OUTPUT"):
        values(unCLIPConditioning, ctx, conditioning=cond, clip_vision_output=3, strength=1.0, noise_augmentation=0.0)


def test_sdxl_y_carries_the_noise_augmented_image_embeds(ctx):
    """Closed form: y[:, :pooled] = strength * (sqrt(ᾱ_n) e + sqrt(1-ᾱ_n) ε), ε from seed - 10."""
    embeds = torch.randn(1, 16, generator=torch.Generator().manual_seed(5))
    cond = [[torch.zeros(1, 77, 8), {"pooled_output": torch.zeros(1, 12)}]]
    (out,) = values(unCLIPConditioning, ctx, conditioning=cond, clip_vision_output=_output(embeds), strength=2.0,
                    noise_augmentation=0.3)
    (prepared,) = prepare_conditioning(out, which="positive", latent_shape=(1, 4, 8, 8), schedule=DiscreteSchedule(),
                                       family="sdxl", seed=42)
    level = noise_level_of(0.3)
    assert level == 300
    signal, scale = sqrt_alphas_cumprod()
    noise = torch.randn((1, 16), generator=torch.Generator().manual_seed(32))
    expected = 2.0 * (signal[level] * embeds + scale[level] * noise)
    torch.testing.assert_close(prepared.y[:, :12], expected[:, :12])
    # the rest of y is SDXL's size embedding, as without an image
    (plain,) = prepare_conditioning(cond, which="positive", latent_shape=(1, 4, 8, 8), schedule=DiscreteSchedule(),
                                    family="sdxl")
    torch.testing.assert_close(prepared.y[:, 12:], plain.y[:, 12:])
    assert 0.999 < float(signal[0]) < 1.0  # level 0 still noises a little (ComfyUI's q_sample at t=0)


def test_two_images_are_summed_and_augmented_again():
    from diffusion.models.clip_vision.unclip import augment, unclip_adm

    a, b = torch.ones(1, 4), torch.full((1, 4), 2.0)
    items = [{"clip_vision_output": _output(a), "strength": 1.0, "noise_augmentation": 0.0},
             {"clip_vision_output": _output(b), "strength": 0.5, "noise_augmentation": 0.0}]
    total = augment(a, 0, 7) + 0.5 * augment(b, 0, 7)
    torch.testing.assert_close(unclip_adm(items, seed=7, merge_noise=0.0), augment(total[:, :4], 0, 7))
    torch.testing.assert_close(augment(a, 10, 1)[:, 4:], timestep_embedding(torch.tensor([10.0]), 4))


def test_sdxl_revision_with_too_narrow_embeds_is_a_clear_error(ctx):
    cond = [[torch.zeros(1, 77, 8), {"pooled_output": torch.zeros(1, 12)}]]
    (out,) = values(unCLIPConditioning, ctx, conditioning=cond, clip_vision_output=_output(torch.ones(1, 4)),
                    strength=1.0, noise_augmentation=0.0)
    with pytest.raises(ValueError, match="pooled embedding is 12 wide .*ViT-bigG"):
        prepare_conditioning(out, which="positive", latent_shape=(1, 4, 8, 8), schedule=DiscreteSchedule(),
                             family="sdxl")


def test_sd21_unclip_y_is_the_whole_vector_or_zeros():
    from diffusion.models.clip_vision.unclip import augment, sd21_unclip_y

    assert torch.equal(sd21_unclip_y(None, 8, seed=3), torch.zeros(1, 8))
    items = [{"clip_vision_output": _output(torch.ones(1, 4)), "strength": 1.5, "noise_augmentation": 0.1}]
    torch.testing.assert_close(sd21_unclip_y(items, 8, seed=3), 1.5 * augment(torch.ones(1, 4), 100, 3 - 10))
    with pytest.raises(ValueError, match="takes 16 .*CLIP vision model of its checkpoint"):
        sd21_unclip_y(items, 16, seed=3)
