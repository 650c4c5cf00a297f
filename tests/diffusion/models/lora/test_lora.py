"""LoRA: key styles, exact patched weights, separate strengths, base untouched, clear mismatches."""

from __future__ import annotations

import pytest
import torch

from diffusion.memory.patcher import ModelPatcher
from diffusion.models.lora.keys import diffusers_unet_stems, unet_lora_targets
from diffusion.models.lora.lora import LoraMismatchError, apply_lora, read_lora
from diffusion.models.text.clip_text import TextEncoderConfig, build_text_encoder
from diffusion.models.text.text_encode import CLIPHandle
from diffusion.models.unet.config import UNetConfig
from diffusion.models.unet.unet import UNetModel

RANK = 2


def _unet(family="sd15", seed=0):
    torch.manual_seed(seed)
    return ModelPatcher(UNetModel(UNetConfig.preset(family, "tiny")), model_info={"family": family})


def _clip(family="sd1"):
    torch.manual_seed(1)
    if family == "sdxl":
        return CLIPHandle("sdxl", {
            "l": ModelPatcher(build_text_encoder(TextEncoderConfig.preset("clip_l", "tiny"))),
            "g": ModelPatcher(build_text_encoder(TextEncoderConfig.preset("clip_g", "tiny"))),
        })
    return CLIPHandle(family, {"l": ModelPatcher(build_text_encoder(TextEncoderConfig.preset("clip_l", "tiny")))})


def _pair(weight, seed, alpha=1.0, up_key=".lora_up.weight", down_key=".lora_down.weight"):
    """LoRA tensors for a weight (LoCon style for convolutions: down k×k, up 1×1)."""
    g = torch.Generator().manual_seed(seed)
    out_features, in_features = weight.shape[0], weight.shape[1]
    kernel = tuple(weight.shape[2:])
    down = torch.randn(RANK, in_features, *kernel, generator=g)
    up = torch.randn(out_features, RANK, *([1] * len(kernel)), generator=g)
    return {up_key: up, down_key: down, ".alpha": torch.tensor(alpha)}


def _lora_for(named_weights: dict[str, torch.Tensor], alpha=1.0, **keys):
    lora = {}
    for index, (name, weight) in enumerate(named_weights.items()):
        for suffix, tensor in _pair(weight, index, alpha, **keys).items():
            lora[name + suffix] = tensor
    return lora


def _expected(weight, lora, name, strength):
    up, down = lora[name + ".lora_up.weight"], lora[name + ".lora_down.weight"]
    alpha = float(lora[name + ".alpha"])
    delta = (up.flatten(1) @ down.flatten(1)).reshape(weight.shape)
    return weight + strength * (alpha / RANK) * delta


UNET_TARGETS = {
    "lora_unet_input_blocks_1_1_proj_in": "input_blocks.1.1.proj_in.weight",
    "lora_unet_input_blocks_1_1_transformer_blocks_0_attn2_to_k": "input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight",
    "lora_unet_input_blocks_1_0_in_layers_2": "input_blocks.1.0.in_layers.2.weight",  # 3x3 conv (LoCon)
}
TE_TARGETS = {
    "lora_te_text_model_encoder_layers_0_self_attn_q_proj": "text_model.encoder.layers.0.self_attn.q_proj.weight",
}


def _weights(patcher, targets):
    params = dict(patcher.model.named_parameters())
    return {name: params[param].detach().clone() for name, param in targets.items()}


def test_patched_weights_are_exact_and_strengths_separate():
    model, clip = _unet(), _clip()
    unet_w, te_w = _weights(model, UNET_TARGETS), _weights(clip.encoders["l"], TE_TARGETS)
    lora = _lora_for({**unet_w, **te_w}, alpha=1.5)
    new_model, new_clip, report = apply_lora(model, clip, lora, 0.7, -0.3)
    assert report.model_keys == set(UNET_TARGETS.values())
    assert report.clip_keys == {f"l:{p}" for p in TE_TARGETS.values()}
    assert report.not_loaded == 0 and "patched 3 model and 1 text-encoder" in report.summary()
    patched = new_model.patched_weights()
    for name, param in UNET_TARGETS.items():
        assert torch.allclose(patched[param], _expected(unet_w[name], lora, name, 0.7), atol=1e-5)
    te_patched = new_clip.encoders["l"].patched_weights()
    for name, param in TE_TARGETS.items():
        assert torch.allclose(te_patched[param], _expected(te_w[name], lora, name, -0.3), atol=1e-5)
    # inputs are not mutated
    assert model.patches == {} and clip.encoders["l"].patches == {}
    assert new_model.model is model.model


def test_strength_zero_equals_base_and_base_is_unchanged_after_use():
    model, clip = _unet(), _clip()
    lora = _lora_for({**_weights(model, UNET_TARGETS), **_weights(clip.encoders["l"], TE_TARGETS)})
    same_model, same_clip, _ = apply_lora(model, clip, lora, 0.0, 0.0)
    assert same_model is model and same_clip is clip
    before = {k: v.clone() for k, v in model.model.state_dict().items()}
    x, t = torch.randn(1, 4, 8, 8), torch.tensor([10.0])
    context = torch.randn(1, 77, model.model.config.context_dim)
    zero_model, _, _ = apply_lora(model, None, lora, 0.0, 1.0)
    assert zero_model is model
    strong, patched_clip, _ = apply_lora(model, clip, lora, 1.0, 1.0)
    base_out = model(x, t, context)
    assert not torch.allclose(strong(x, t, context), base_out)
    assert all(torch.equal(v, before[k]) for k, v in model.model.state_dict().items())
    assert torch.equal(model(x, t, context), base_out)
    assert not torch.allclose(patched_clip.encode("a cat")[0], clip.encode("a cat")[0])


def test_diffusers_style_kohya_names_reach_the_same_weights():
    model = _unet()
    ldm_lora = _lora_for(_weights(model, UNET_TARGETS))
    renamed = {
        "lora_unet_input_blocks_1_1_proj_in": "lora_unet_down_blocks_0_attentions_0_proj_in",
        "lora_unet_input_blocks_1_1_transformer_blocks_0_attn2_to_k":
            "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k",
        "lora_unet_input_blocks_1_0_in_layers_2": "lora_unet_down_blocks_0_resnets_0_conv1",
    }
    diffusers_lora = {}
    for key, value in ldm_lora.items():
        name, _, suffix = key.partition(".")
        diffusers_lora[renamed[name] + "." + suffix] = value
    a, _, _ = apply_lora(model, None, ldm_lora, 1.0, 0.0)
    b, _, report = apply_lora(model, None, diffusers_lora, 1.0, 0.0)
    assert report.model_keys == set(UNET_TARGETS.values())
    for key, value in a.patched_weights().items():
        assert torch.equal(b.patched_weights()[key], value)


@pytest.mark.parametrize("family", ["sd15", "sd21", "sdxl", "sdxl-refiner"])
def test_diffusers_name_map_agrees_with_diffusers_converter(family):
    single_file_utils = pytest.importorskip("diffusers.loaders.single_file_utils")
    config = UNetConfig.preset(family, "tiny")
    unet = UNetModel(config)
    checkpoint = {"model.diffusion_model." + k: v for k, v in unet.state_dict().items()}
    diffusers_config = {"layers_per_block": config.num_res_blocks[0]}
    if config.adm_in_channels:
        diffusers_config["addition_embed_type"] = "text_time"
    converted = single_file_utils.convert_ldm_unet_checkpoint(checkpoint, diffusers_config)
    by_identity = {id(v): k[len("model.diffusion_model."):] for k, v in checkpoint.items()}
    reference = {k[: -len(".weight")]: by_identity[id(v)][: -len(".weight")]
                 for k, v in converted.items() if k.endswith(".weight")}
    assert diffusers_unet_stems([n for n, _ in unet.named_parameters()]) == reference


def test_peft_spelling_and_missing_alpha():
    model = _unet()
    weights = _weights(model, {"lora_unet_input_blocks_1_1_proj_in": UNET_TARGETS["lora_unet_input_blocks_1_1_proj_in"]})
    lora = _lora_for(weights, up_key=".lora_B.weight", down_key=".lora_A.weight")
    del lora["lora_unet_input_blocks_1_1_proj_in.alpha"]
    patched, _, report = apply_lora(model, None, lora, 1.0, 0.0)
    up, down = lora["lora_unet_input_blocks_1_1_proj_in.lora_B.weight"], lora["lora_unet_input_blocks_1_1_proj_in.lora_A.weight"]
    weight = weights["lora_unet_input_blocks_1_1_proj_in"]
    expected = weight + (up.flatten(1) @ down.flatten(1)).reshape(weight.shape)  # no alpha: scale 1
    assert torch.allclose(patched.patched_weights()["input_blocks.1.1.proj_in.weight"], expected, atol=1e-5)
    assert report.not_loaded == 0


def test_unknown_and_unsupported_keys_are_reported_not_fatal(caplog):
    model = _unet()
    lora = _lora_for(_weights(model, UNET_TARGETS))
    lora["lora_unet_nowhere_block.lora_up.weight"] = torch.zeros(2, 2)
    lora["lora_unet_nowhere_block.lora_down.weight"] = torch.zeros(2, 2)
    lora["lora_unet_input_blocks_1_1_proj_out.hada_w1_a"] = torch.zeros(2, 2)
    lora["lora_unet_lonely.lora_up.weight"] = torch.zeros(2, 2)
    _, _, report = apply_lora(model, None, lora, 1.0, 1.0)
    assert report.unmatched == ["lora_unet_nowhere_block"]
    assert "lora_unet_input_blocks_1_1_proj_out.hada_w1_a" in report.unsupported
    assert "lora_unet_lonely (no up/down pair)" in report.unsupported
    assert report.not_loaded == 3 and "3 keys not loaded" in report.summary()
    assert "lora key not loaded: lora_unet_nowhere_block" in caplog.text


def test_lora_for_another_family_says_so():
    sdxl_model = _unet("sdxl")
    lora = _lora_for(_weights(sdxl_model, {
        "lora_unet_input_blocks_5_1_proj_in": "input_blocks.5.1.proj_in.weight",
    }))
    lora.update(_lora_for({"lora_te2_text_model_encoder_layers_0_mlp_fc1": torch.zeros(512, 128)}))
    with pytest.raises(LoraMismatchError, match="another model family"):
        apply_lora(_unet("sd15"), _clip(), lora, 1.0, 1.0)


def test_shape_mismatch_is_reported():
    model = _unet()
    good = _lora_for(_weights(model, UNET_TARGETS))
    bad = _lora_for({"lora_unet_input_blocks_1_1_proj_out": torch.zeros(7, 5)})
    _, _, report = apply_lora(model, None, {**good, **bad}, 1.0, 0.0)
    assert report.mismatched == ["lora_unet_input_blocks_1_1_proj_out"]


def test_sdxl_text_encoder_prefixes_pick_the_encoder():
    clip = _clip("sdxl")
    l_weight = clip.encoders["l"].model.get_parameter("text_model.encoder.layers.0.mlp.fc1.weight").detach()
    g_weight = clip.encoders["g"].model.get_parameter("text_model.encoder.layers.0.mlp.fc1.weight").detach()
    lora = _lora_for({
        "lora_te1_text_model_encoder_layers_0_mlp_fc1": l_weight,
        "lora_te2_text_model_encoder_layers_0_mlp_fc1": g_weight,
    })
    _, patched, report = apply_lora(None, clip, lora, 1.0, 1.0)
    assert report.clip_keys == {"l:text_model.encoder.layers.0.mlp.fc1.weight", "g:text_model.encoder.layers.0.mlp.fc1.weight"}
    assert patched.fingerprint() != clip.fingerprint()


def test_read_lora_groups_modules():
    modules, unsupported = read_lora({
        "a.lora_up.weight": torch.zeros(3, 2), "a.lora_down.weight": torch.zeros(2, 4), "a.alpha": torch.tensor(4.0),
        "b.dora_scale": torch.zeros(3),
    })
    assert set(modules) == {"a"} and modules["a"].alpha == 4.0
    assert unsupported == ["b.dora_scale"]


def test_unet_targets_accept_ldm_prefixes():
    targets = unet_lora_targets(["input_blocks.1.1.proj_in.weight", "input_blocks.1.1.proj_in.bias"])
    for name in ("lora_unet_input_blocks_1_1_proj_in", "input_blocks.1.1.proj_in",
                 "diffusion_model.input_blocks.1.1.proj_in", "model.diffusion_model.input_blocks.1.1.proj_in"):
        assert targets[name] == "input_blocks.1.1.proj_in.weight"


def test_bad_alpha_is_reported():
    modules, unsupported = read_lora({
        "a.lora_up.weight": torch.zeros(3, 2), "a.lora_down.weight": torch.zeros(2, 4), "a.alpha": torch.zeros(2),
        "b.lora_up.weight": torch.zeros(3, 2), "b.lora_down.weight": torch.zeros(2, 4), "b.alpha": torch.tensor(float("inf")),
    })
    assert modules == {}
    assert unsupported == ["a.alpha (alpha must be one finite number)", "b.alpha (alpha must be one finite number)"]
