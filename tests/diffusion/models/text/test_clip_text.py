"""CLIP text encoders: presets, shape inference, OpenCLIP <-> HF conversion, parity with
an independent OpenCLIP-style forward and with diffusers' conversion functions."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from diffusion.models.text.clip_text import (
    ClipTextEncoder,
    TextEncoderConfig,
    TextEncoderError,
    build_text_encoder,
    hf_to_openclip,
    openclip_to_hf,
    text_encoder_config_from_state_dict,
)

KINDS = ["clip_l", "clip_h", "clip_g"]


def _tiny(kind, randomize, seed=0):
    return randomize(build_text_encoder(TextEncoderConfig.preset(kind, "tiny")), seed)


def _ids(batch=2):
    generator = torch.Generator().manual_seed(1)
    ids = torch.randint(0, 49406, (batch, 77), generator=generator)
    ids[:, 0] = 49406
    ids[0, 9] = 49407  # end token, then padding
    ids[0, 10:] = 0
    ids[1, 30:] = 49407
    return ids


def openclip_reference(sd, ids, heads, act):
    """An OpenCLIP-style text tower written from the paper's recipe, on the OpenCLIP layout:
    pre-norm residual blocks with torch's MultiheadAttention (packed in_proj) and a causal mask."""
    x = F.embedding(ids, sd["token_embedding.weight"]) + sd["positional_embedding"]
    width = x.shape[-1]
    mask = torch.full((ids.shape[1], ids.shape[1]), float("-inf")).triu(1)
    layers = 1 + max(int(k.split(".")[2]) for k in sd if k.startswith("transformer.resblocks."))
    hidden = [x]
    for i in range(layers):
        p = f"transformer.resblocks.{i}."
        mha = torch.nn.MultiheadAttention(width, heads, batch_first=True)
        mha.load_state_dict({
            "in_proj_weight": sd[p + "attn.in_proj_weight"], "in_proj_bias": sd[p + "attn.in_proj_bias"],
            "out_proj.weight": sd[p + "attn.out_proj.weight"], "out_proj.bias": sd[p + "attn.out_proj.bias"],
        })
        h = F.layer_norm(x, (width,), sd[p + "ln_1.weight"], sd[p + "ln_1.bias"])
        x = x + mha(h, h, h, attn_mask=mask, need_weights=False)[0]
        h = F.layer_norm(x, (width,), sd[p + "ln_2.weight"], sd[p + "ln_2.bias"])
        h = F.linear(h, sd[p + "mlp.c_fc.weight"], sd[p + "mlp.c_fc.bias"])
        h = h * torch.sigmoid(1.702 * h) if act == "quick_gelu" else F.gelu(h)
        x = x + F.linear(h, sd[p + "mlp.c_proj.weight"], sd[p + "mlp.c_proj.bias"])
        hidden.append(x)
    final = F.layer_norm(x, (width,), sd["ln_final.weight"], sd["ln_final.bias"])
    eos = (ids == 49407).int().argmax(dim=-1)
    pooled = final[torch.arange(ids.shape[0]), eos]
    if "text_projection" in sd:
        pooled = pooled @ sd["text_projection"]
    return hidden, final, pooled


@pytest.mark.parametrize("kind", KINDS)
def test_matches_independent_openclip_forward(kind, randomize):
    model = _tiny(kind, randomize)
    cfg = model.config
    oc = hf_to_openclip(model.state_dict())
    ids = _ids()
    with torch.no_grad():
        out = model(ids)
        hidden, final, pooled = openclip_reference(oc, ids, cfg.num_heads, cfg.hidden_act)
    assert len(out.hidden_states) == cfg.num_layers + 1
    for ours, ref in zip(out.hidden_states, hidden, strict=True):
        assert (ours - ref).abs().max() <= 1e-4
    assert (out.last_hidden_state - final).abs().max() <= 1e-4
    ours_pooled = out["text_embeds"] if cfg.projection_dim else out.pooler_output
    assert (ours_pooled - pooled).abs().max() <= 1e-4


@pytest.mark.parametrize("kind", ["clip_h", "clip_g"])
def test_openclip_conversion_agrees_with_diffusers(kind, randomize):
    single_file_utils = pytest.importorskip("diffusers.loaders.single_file_utils")
    from transformers import CLIPTextModelWithProjection

    model = _tiny(kind, randomize, seed=3)
    prefix = "conditioner.embedders.1.model."
    checkpoint = {prefix + k: v for k, v in hf_to_openclip(model.state_dict()).items()}
    reference = CLIPTextModelWithProjection(model.config.to_hf())
    converted = single_file_utils.convert_open_clip_checkpoint(reference, checkpoint, prefix=prefix)
    ours = openclip_to_hf({k[len(prefix):]: v for k, v in checkpoint.items()})
    assert set(converted) == set(ours)
    for key, value in converted.items():
        assert torch.equal(value, ours[key]), key
    result = reference.load_state_dict(converted, strict=False)
    assert not [k for k in result.missing_keys if not k.endswith("position_ids")]
    ids = _ids()
    with torch.no_grad():
        ref_out = reference(ids, output_hidden_states=True)
        our_out = model(ids)
    assert (ref_out.last_hidden_state - our_out.last_hidden_state).abs().max() <= 1e-4
    assert (ref_out.text_embeds - our_out["text_embeds"]).abs().max() <= 1e-4


def test_sd1_clip_through_diffusers_conversion(randomize):
    single_file_utils = pytest.importorskip("diffusers.loaders.single_file_utils")
    model = _tiny("clip_l", randomize, seed=5)
    checkpoint = {"cond_stage_model.transformer." + k: v for k, v in model.state_dict().items()}
    converted = single_file_utils.convert_ldm_clip_checkpoint(checkpoint)
    fresh = build_text_encoder(text_encoder_config_from_state_dict(converted))
    assert fresh.load_weights(converted) == []
    ids = _ids()
    with torch.no_grad():
        assert (fresh(ids).last_hidden_state - model(ids).last_hidden_state).abs().max() <= 1e-6


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("size", ["tiny", "full"])
def test_config_inferred_from_shapes(kind, size):
    preset = TextEncoderConfig.preset(kind, size)
    with torch.device("meta"):
        model = ClipTextEncoder(preset)
    assert text_encoder_config_from_state_dict(model.state_dict()) == preset


def test_activations_follow_the_tower():
    assert TextEncoderConfig.preset("clip_l").hidden_act == "quick_gelu"
    assert TextEncoderConfig.preset("clip_h").hidden_act == "gelu"
    assert TextEncoderConfig.preset("clip_g").hidden_act == "gelu"
    assert TextEncoderConfig.preset("clip_g").projection_dim == 1280


def test_full_clip_l_has_sd15_parameter_count():
    with torch.device("meta"):
        model = ClipTextEncoder(TextEncoderConfig.preset("clip_l", "full"))
    assert sum(p.numel() for p in model.parameters()) == 123_060_480


@pytest.mark.parametrize("kind", KINDS)
def test_openclip_round_trip_is_exact(kind, randomize):
    sd = _tiny(kind, randomize).state_dict()
    sd["logit_scale"] = torch.tensor(4.6)
    oc = hf_to_openclip(sd)
    assert "transformer.resblocks.0.attn.in_proj_weight" in oc
    back = openclip_to_hf(oc)
    assert set(back) == set(sd)
    assert all(torch.equal(back[k], sd[k]) for k in sd)
    again = hf_to_openclip(back)
    assert set(again) == set(oc) and all(torch.equal(again[k], oc[k]) for k in oc)
    if kind != "clip_l":
        assert torch.equal(oc["text_projection"], sd["text_projection.weight"].t())


def test_attn_mask_buffer_is_dropped(randomize):
    oc = hf_to_openclip(_tiny("clip_h", randomize).state_dict())
    oc["attn_mask"] = torch.zeros(77, 77)
    assert "attn_mask" not in openclip_to_hf(oc)


def test_unexpected_openclip_key_is_named():
    with pytest.raises(TextEncoderError, match="visual.proj"):
        openclip_to_hf({"visual.proj": torch.zeros(2)})
    with pytest.raises(TextEncoderError, match="three stacked"):
        openclip_to_hf({"transformer.resblocks.0.attn.in_proj_weight": torch.zeros(5, 4)})
    with pytest.raises(TextEncoderError, match="unexpected key"):
        hf_to_openclip({"text_model.encoder.layers.0.weird.weight": torch.zeros(2)})
    with pytest.raises(TextEncoderError, match="incomplete"):
        hf_to_openclip({"text_model.encoder.layers.0.self_attn.q_proj.weight": torch.zeros(2, 2)})


def test_config_inference_errors():
    with pytest.raises(TextEncoderError, match="openclip_to_hf"):
        text_encoder_config_from_state_dict({"transformer.resblocks.0.ln_1.weight": torch.zeros(4)})
    with pytest.raises(TextEncoderError, match="not a CLIP text encoder"):
        text_encoder_config_from_state_dict({"something": torch.zeros(4)})
    with pytest.raises(ValueError, match="unknown text encoder preset"):
        TextEncoderConfig.preset("clip_x", "tiny")


def test_load_weights_reports_shape_mismatch_and_missing(randomize):
    model = _tiny("clip_l", randomize)
    sd = dict(model.state_dict())
    bad = dict(sd)
    bad["text_model.final_layer_norm.weight"] = torch.zeros(3)
    with pytest.raises(TextEncoderError, match="final_layer_norm.weight"):
        build_text_encoder(model.config).load_weights(bad)
    partial = {k: v for k, v in sd.items() if "layers.1." not in k}
    with pytest.raises(TextEncoderError, match="missing"):
        build_text_encoder(model.config).load_weights(partial)
    extra = dict(sd, logit_scale=torch.tensor(1.0))
    assert build_text_encoder(model.config).load_weights(extra) == ["logit_scale"]


def test_position_ids_stored_by_old_checkpoints_are_ignored(randomize):
    model = _tiny("clip_l", randomize)
    sd = dict(model.state_dict())
    sd["text_model.embeddings.position_ids"] = torch.zeros(1, 77)  # garbage, as some SD1 files hold
    fresh = build_text_encoder(text_encoder_config_from_state_dict(sd))
    assert fresh.load_weights(sd) == ["text_model.embeddings.position_ids"]
    ids = _ids()
    with torch.no_grad():
        assert torch.equal(fresh(ids).last_hidden_state, model(ids).last_hidden_state)
    assert "text_model.embeddings.position_ids" not in hf_to_openclip(sd)
