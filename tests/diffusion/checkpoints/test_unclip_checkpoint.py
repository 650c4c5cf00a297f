"""SD2.1 unCLIP checkpoints: the tiny writer's layout, family detection, loading the embedded CLIP vision
tower, the y the sampler builds from unclip_conditioning, saving, and refusing video checkpoints."""

from __future__ import annotations

import pytest
import torch

from diffusion.checkpoints.checkpoint import load_state_dict
from diffusion.checkpoints.detect import ModelDetectionError, detect_model, detect_unet
from diffusion.checkpoints.loader import load_checkpoint
from diffusion.checkpoints.make_checkpoint import iter_checkpoint_tensors
from diffusion.checkpoints.make_unclip import NOISE_PREFIX, unclip_checkpoint_tensors
from diffusion.checkpoints.save_checkpoint import checkpoint_tensors, clip_vision_tensors
from diffusion.checkpoints.summary import describe_model_file
from diffusion.checkpoints.weight_kinds import write_kind
from diffusion.models.clip_vision.openclip_layout import openclip_visual_to_hf
from diffusion.models.clip_vision.unclip import sqrt_alphas_cumprod
from diffusion.sampling.conds import prepare_conditioning
from diffusion.sampling.discrete import DiscreteSchedule

TOWERS = {"sd21-unclip-l": ("vit-l", 1536), "sd21-unclip-h": ("vit-h", 2048)}


@pytest.fixture(scope="module")
def tensors() -> dict:
    return {family: unclip_checkpoint_tensors(family, seed=4) for family in TOWERS}


@pytest.fixture(scope="module")
def unclip_h_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("unclip") / "sd21-unclip-h.safetensors"
    write_kind("sd21-unclip-h", str(path), family=None, size="tiny", seed=4, dtype=torch.float32)
    return path


@pytest.mark.parametrize("family", list(TOWERS))
def test_the_tiny_file_is_in_the_released_layout_and_detected(tensors, family):
    sd = tensors[family]
    width = TOWERS[family][1]
    assert sd["model.diffusion_model.label_emb.0.0.weight"].shape[1] == width
    assert "embedder.model.visual.transformer.resblocks.0.attn.in_proj_weight" in sd
    assert sd["embedder.model.visual.proj"].shape[1] == width // 2
    assert sd[NOISE_PREFIX + "data_mean"].shape == (1, width // 2)
    torch.testing.assert_close(sd[NOISE_PREFIX + "sqrt_alphas_cumprod"], sqrt_alphas_cumprod()[0])
    info = detect_model(sd)
    assert (info.family, info.prediction, info.text_encoders) == (family, "v", ("clip_h",))
    assert info.unet_config.adm_in_channels == width
    assert (info.clip_vision_source.prefix, info.clip_vision_source.layout) == ("embedder.model.visual.", "openclip")


def test_plain_checkpoints_have_no_clip_vision_tower():
    sd = dict(iter_checkpoint_tensors("sd21-v", seed=1))
    assert detect_model(sd).clip_vision_source is None


# ComfyUI's save_checkpoint writes the Hugging Face layout under the unCLIP prefix; some files use embedder.transformer.
@pytest.mark.parametrize("prefix", ["embedder.model.visual.", "embedder.transformer."])
def test_the_tower_in_the_hugging_face_layout_is_found_too(tensors, prefix):
    sd = dict(tensors["sd21-unclip-l"])
    hf = openclip_visual_to_hf({k.removeprefix("embedder.model.visual."): sd.pop(k)
                                for k in list(sd) if k.startswith("embedder.model.visual.")})
    sd.update({prefix + k: v for k, v in hf.items()})
    source = detect_model(sd).clip_vision_source
    assert (source.prefix, source.layout) == (prefix, "hf")
    assert source.extract(sd).keys() == hf.keys()


def test_an_sd2_unet_with_another_vector_width_is_refused(tensors):
    sd = dict(tensors["sd21-unclip-h"])
    sd["model.diffusion_model.label_emb.0.0.weight"] = torch.zeros(128, 100)
    with pytest.raises(ModelDetectionError, match="vector conditioning of 100.*unCLIP takes 1536 or 2048"):
        detect_model(sd, "odd.safetensors")


def test_video_checkpoints_are_refused_by_name():
    sd = dict(iter_checkpoint_tensors("sd21", seed=1))
    sd["model.diffusion_model.input_blocks.1.0.time_stack.emb_layers.1.weight"] = torch.zeros(4, 4)
    for detect in (lambda: detect_model(sd, "svd.safetensors"),
                   lambda: detect_unet(sd, "svd.safetensors", prefix="model.diffusion_model.")):
        with pytest.raises(ModelDetectionError, match="svd.safetensors: a video model.*not supported"):
            detect()


def test_loading_gives_the_embedded_clip_vision_and_a_v_model(unclip_h_file):
    loaded = load_checkpoint(unclip_h_file, output_clip_vision=True)
    assert loaded.info.family == "sd21-unclip-h" and loaded.model.model_info.prediction == "v"
    assert loaded.clip.family == "sd2" and loaded.vae is not None
    vision = loaded.clip_vision
    assert (vision.config.kind, vision.config.projection_dim) == ("vit-h", 1024)
    embeds = vision.encode_image(torch.rand(1, 32, 32, 3)).image_embeds
    assert embeds.shape == (1, 1024) and torch.isfinite(embeds).all()
    assert load_checkpoint(unclip_h_file).clip_vision is None  # only when asked for
    summary = describe_model_file(unclip_h_file)  # what `main.py inspect` prints
    assert summary["family"] == "sd21-unclip-h" and summary["components"]["clip_vision"]["parameters"] > 0


def _y(family, unclip=None, seed=5, batch=2):
    options = {} if unclip is None else {"unclip_conditioning": unclip}
    (cond,) = prepare_conditioning([[torch.zeros(1, 77, 32), options]], which="positive",
                                   latent_shape=(batch, 4, 8, 8), schedule=DiscreteSchedule(), family=family,
                                   seed=seed)
    return cond.y


def test_the_sampler_builds_unclip_y_from_image_embeds():
    embeds = torch.randn(1, 1024, generator=torch.Generator().manual_seed(0))
    item = {"clip_vision_output": {"image_embeds": embeds}, "strength": 1.0, "noise_augmentation": 0.0}
    assert torch.equal(_y("sd21-unclip-h"), torch.zeros(2, 2048))
    y = _y("sd21-unclip-h", [item])
    assert y.shape == (2, 2048)
    signal, noise_scale = sqrt_alphas_cumprod()  # level 0: the embedding with a trace of noise
    torch.testing.assert_close(y[0, :1024], embeds[0], rtol=0, atol=6 * float(noise_scale[0]) + 1e-3)
    assert torch.equal(y[0], y[1])
    noisy = _y("sd21-unclip-h", [{**item, "noise_augmentation": 0.5}])
    assert not torch.allclose(noisy, y) and torch.equal(noisy, _y("sd21-unclip-h", [{**item, "noise_augmentation": 0.5}]))
    assert torch.equal(_y("sd21-unclip-h", [{**item, "strength": 0.0}]), torch.zeros(2, 2048))
    assert _y("sd21-v", [item]) is None  # other SD2 models have no vector input


def test_image_embeds_of_the_wrong_width_are_a_clear_error():
    item = {"clip_vision_output": {"image_embeds": torch.zeros(1, 768)}}
    with pytest.raises(ValueError, match="positive conditioning #0.*1536-wide.*takes 2048"):
        _y("sd21-unclip-h", [item])


def test_saving_keeps_text_encoders_and_the_tower_where_the_loader_reads_them(unclip_h_file, tmp_path):
    loaded = load_checkpoint(unclip_h_file, output_clip_vision=True)
    saved = checkpoint_tensors(loaded.model, loaded.clip, loaded.vae)
    saved.update(clip_vision_tensors(loaded.clip_vision))
    original = load_state_dict(unclip_h_file)
    info = detect_model(saved)
    assert info.family == "sd21-unclip-h" and info.clip_vision_source.layout == "hf"
    assert [s.kind for s in info.text_encoder_sources] == ["clip_h"]
    for key in ("cond_stage_model.model.transformer.resblocks.0.attn.in_proj_weight",
                "model.diffusion_model.label_emb.0.0.weight"):
        assert torch.equal(saved[key], original[key])
    torch.testing.assert_close(info.clip_vision_source.extract(saved)["visual_projection.weight"],
                               original["embedder.model.visual.proj"].T)
