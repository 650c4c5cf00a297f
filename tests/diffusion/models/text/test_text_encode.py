"""CLIPHandle: encodings, CLIP skip per family, weighting, long prompts, SDXL, embeddings."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import save_file

from diffusion.checkpoints.checkpoint import load_state_dict
from diffusion.memory.patcher import ModelPatcher
from diffusion.models.text.clip_text import (
    ClipTextEncoder,
    TextEncoderConfig,
    TextEncoderError,
    build_text_encoder,
    hf_to_openclip,
)
from diffusion.models.text.encoder_specs import clip_family
from diffusion.models.text.text_encode import CLIPHandle, build_encoder_patcher, clip_handle_from_state_dicts
from diffusion.models.text.textual_inversion import EmbeddingLibrary
from diffusion.models.text.tokenizer import default_tokenizer

_TOKEN_KEY = "text_model.embeddings.token_embedding.weight"


def _encoder(kind, randomize, seed):
    return randomize(build_text_encoder(TextEncoderConfig.preset(kind, "tiny")), seed)


@pytest.fixture
def sd1(randomize):
    model = _encoder("clip_l", randomize, 0)
    return model, CLIPHandle("sd15", {"l": ModelPatcher(model)})


def _run(model, ids):
    with torch.no_grad():
        return model(torch.tensor([ids]))


def _padded(text, pad):
    ids = default_tokenizer().ids(text)
    return ids + [pad] * (77 - len(ids))


def test_sd1_uses_last_layer(sd1):
    model, clip = sd1
    cond, pooled = clip.encode("a photo of a cat")
    out = _run(model, _padded("a photo of a cat", 49407))
    assert cond.shape == (1, 77, 64) and cond.dtype == torch.float32
    assert torch.allclose(cond[0], out.last_hidden_state[0], atol=1e-6)
    assert torch.allclose(pooled, out.pooler_output, atol=1e-6)


def test_clip_skip_on_sd1_normalises_the_penultimate_layer(sd1):
    model, clip = sd1
    skipped = clip.clone()
    skipped.set_clip_skip(-2)
    cond, _ = skipped.encode("a photo of a cat")
    out = _run(model, _padded("a photo of a cat", 49407))
    expected = model.text_model.final_layer_norm(out.hidden_states[-2])
    assert torch.allclose(cond[0], expected[0], atol=1e-6)
    # the original handle is untouched; -1 equals the default; beyond the depth falls back to last
    assert torch.allclose(clip.encode("a photo of a cat")[0][0], out.last_hidden_state[0], atol=1e-6)
    for layer in (-1, -24):
        other = clip.clone()
        other.set_clip_skip(layer)
        assert torch.allclose(other.encode("a photo of a cat")[0], clip.encode("a photo of a cat")[0], atol=1e-6)


@pytest.mark.parametrize("bad", [0, 1, True, 1.5, "-2"])
def test_clip_skip_must_be_negative_int(sd1, bad):
    with pytest.raises(ValueError, match="negative integer"):
        sd1[1].set_clip_skip(bad)


def test_sd2_defaults_to_normalised_penultimate_with_zero_padding(randomize):
    model = _encoder("clip_h", randomize, 1)
    clip = clip_handle_from_state_dicts("sd21", {"h": hf_to_openclip(model.state_dict())})
    cond, pooled = clip.encode("a cat")
    out = _run(model, _padded("a cat", 0))
    assert torch.allclose(cond[0], model.text_model.final_layer_norm(out.hidden_states[-2])[0], atol=1e-5)
    assert torch.allclose(pooled, out["text_embeds"], atol=1e-5)


def test_sdxl_concatenates_l_and_g_and_pools_from_g(randomize):
    l_model, g_model = _encoder("clip_l", randomize, 2), _encoder("clip_g", randomize, 3)
    clip = clip_handle_from_state_dicts("sdxl", {"l": l_model.state_dict(), "g": hf_to_openclip(g_model.state_dict())})
    cond, pooled = clip.encode("a cat")
    l_out = _run(l_model, _padded("a cat", 49407))
    g_out = _run(g_model, _padded("a cat", 0))
    assert cond.shape == (1, 77, 64 + 128)
    assert torch.allclose(cond[0, :, :64], l_out.hidden_states[-2][0], atol=1e-5)  # no final LN for SDXL
    assert torch.allclose(cond[0, :, 64:], g_out.hidden_states[-2][0], atol=1e-5)
    assert torch.allclose(pooled, g_out["text_embeds"], atol=1e-5)


def test_sdxl_separate_prompts_pad_windows_to_equal_count(randomize):
    clip = CLIPHandle("sdxl", {"l": ModelPatcher(_encoder("clip_l", randomize, 2)),
                               "g": ModelPatcher(_encoder("clip_g", randomize, 3))})
    cond, pooled = clip.encode_sdxl("a cat", "dog " * 100)
    assert cond.shape == (1, 154, 192) and pooled.shape == (1, 128)
    alone, _ = clip.encode_sdxl("a cat", "a cat")
    assert torch.allclose(cond[0, :77, 64:], alone[0, :, 64:], atol=1e-6)


def test_refiner_has_g_only(randomize):
    clip = CLIPHandle("sdxl-refiner", {"g": ModelPatcher(_encoder("clip_g", randomize, 3))})
    cond, pooled = clip.encode("a cat")
    assert cond.shape == (1, 77, 128) and pooled.shape == (1, 128)
    with pytest.raises(ValueError, match="needs an SDXL CLIP"):
        clip.encode_sdxl("a", "b")


def test_weights_interpolate_from_the_empty_prompt(sd1):
    model, clip = sd1
    cond, _ = clip.encode("a (cat:1.5)")
    plain = _run(model, _padded("a cat", 49407)).last_hidden_state[0]
    empty = _run(model, _padded("", 49407)).last_hidden_state[0]
    expected = plain.clone()
    expected[2] = (plain[2] - empty[2]) * 1.5 + empty[2]
    assert torch.allclose(cond[0], expected, atol=1e-5)
    assert not torch.allclose(cond[0, 2], plain[2], atol=1e-3)


def test_long_prompt_windows_are_encoded_separately_and_concatenated(sd1):
    model, clip = sd1
    text = "cat " * 80
    cond, pooled = clip.encode(text)
    assert cond.shape == (1, 154, 64)
    windows = [[49406] + [2368] * 75 + [49407], [49406] + [2368] * 5 + [49407] + [49407] * 70]
    for index, ids in enumerate(windows):
        expected = _run(model, ids).last_hidden_state[0]
        assert torch.allclose(cond[0, 77 * index : 77 * (index + 1)], expected, atol=1e-5)
    assert torch.allclose(pooled, _run(model, windows[0]).pooler_output, atol=1e-6)


def test_embedding_vectors_stand_in_for_tokens(sd1, tmp_path):
    model, clip = sd1
    table = model.text_model.embeddings.token_embedding.weight.detach()
    # an embedding whose vectors are exactly the vectors of "photo of" must encode like those words
    save_file({"emb_params": table[[1125, 539]].clone()}, str(tmp_path / "photoof.safetensors"))
    with_embeddings = CLIPHandle("sd15", clip.encoders, embeddings=EmbeddingLibrary([tmp_path]))
    cond, _ = with_embeddings.encode("a embedding:photoof a cat")
    reference, _ = clip.encode("a photo of a cat")
    assert torch.allclose(cond, reference, atol=1e-5)
    # the base token table is unchanged afterwards
    assert model.text_model.embeddings.token_embedding.weight.shape[0] == 49408


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_embedding_formats_and_failures(sd1, tmp_path):
    model, _ = sd1
    rows = torch.randn(3, 64)
    torch.save({"string_to_param": {"*": rows}, "name": "x"}, tmp_path / "a1111.pt")
    save_file({"clip_l": torch.randn(2, 64), "clip_g": torch.randn(2, 128)}, str(tmp_path / "xl.safetensors"))
    (tmp_path / "broken.safetensors").write_bytes(b"not a safetensors file")
    (tmp_path / "evil.pt").write_bytes(b"\x80\x04cos\nsystem\n.")
    (tmp_path / "sub").mkdir()
    save_file({"emb_params": torch.randn(1, 64)}, str(tmp_path / "sub" / "nested.safetensors"))
    library = EmbeddingLibrary([tmp_path])
    assert torch.equal(library.vectors("a1111", 64), rows)
    assert library.vectors("xl", 128, "clip_g").shape == (2, 128)
    assert library.vectors("xl", 64, "clip_l").shape == (2, 64)
    assert library.vectors("nested", 64).shape == (1, 64)
    assert library.vectors("a1111", 1280) is None  # no tensor of that width
    assert library.vectors("broken", 64) is None
    assert library.vectors("evil", 64) is None
    assert library.vectors("../outside", 64) is None
    assert any("broken.safetensors could not be read" in w for w in library.warnings)
    assert any("evil.pt could not be read" in w and "weights_only" in w for w in library.warnings)
    clip = CLIPHandle("sd15", {"l": ModelPatcher(model)}, embeddings=library)
    tokens = clip.tokenize("embedding:evil cat")
    assert tokens["l"].warnings == ["embedding:evil does not exist, ignoring"]


def test_handle_construction_errors(randomize):
    with pytest.raises(ValueError, match="missing clip_g"):
        CLIPHandle("sdxl", {"l": ModelPatcher(_encoder("clip_l", randomize, 0))})
    with pytest.raises(ValueError, match="no text encoders known"):
        clip_family("sd3")
    with pytest.raises(ValueError, match="needs weights for clip_h"):
        clip_handle_from_state_dicts("sd21", {"l": {}})
    assert clip_family("sd15-inpaint") == "sd1" and clip_family("sd21-v") == "sd2"


def test_clone_shares_weights_and_fingerprint_tracks_settings(sd1):
    model, clip = sd1
    other = clip.clone()
    assert other.encoders["l"].model is model
    assert other.fingerprint() == clip.fingerprint()
    other.set_clip_skip(-2)
    assert other.fingerprint() != clip.fingerprint()
    assert clip.clip_skip is None


def test_built_encoder_keeps_the_file_dtype_unless_told(randomize):
    model = _encoder("clip_l", randomize, 0)
    half = {k: v.to(torch.bfloat16) for k, v in model.state_dict().items()}
    clip = clip_handle_from_state_dicts("sd15", {"l": half})
    assert clip.encoders["l"].model.get_parameter(_TOKEN_KEY).dtype == torch.bfloat16
    cond, pooled = clip.encode("a cat")
    assert cond.dtype == torch.float32 and pooled.dtype == torch.float32
    fp32 = clip_handle_from_state_dicts("sd15", {"l": half}, dtype=torch.float32)
    assert fp32.encoders["l"].model.get_parameter(_TOKEN_KEY).dtype == torch.float32
    assert (fp32.encode("a cat")[0] - cond).abs().max() < 0.1


def test_wrong_weights_for_the_family_name_the_key(randomize):
    model = _encoder("clip_l", randomize, 0)
    broken = dict(model.state_dict())
    del broken["text_model.encoder.layers.1.mlp.fc2.weight"]
    with pytest.raises(ValueError, match="missing"):
        clip_handle_from_state_dicts("sd15", {"l": broken})


# --- building on the meta device: the file's tensors are adopted, nothing allocated twice ---

_SD15_CLIP = "cond_stage_model.transformer."
_SDXL_G = "conditioner.embedders.1.model."


def _file_tensors(path, prefix):
    """This encoder's tensors as memory-mapped views of the checkpoint, prefix stripped."""
    sd = load_state_dict(path)
    return {k[len(prefix):]: sd[k] for k in sd if k.startswith(prefix)}


def test_encoder_in_the_file_dtype_adopts_the_mapped_tensors(tiny_checkpoints):
    tensors = _file_tensors(tiny_checkpoints["sd15"], _SD15_CLIP)
    released = []
    encoder = build_encoder_patcher(tensors, kind="clip_l", release=released.append).model
    params = dict(encoder.named_parameters())
    assert len(params) == len(tensors)
    for name, param in params.items():
        # the very bytes of the mapped file (a copy would live at another address)
        assert param.data_ptr() == tensors[name].data_ptr(), name
        assert not param.requires_grad
    assert released == []  # nothing was converted, so the file's pages are the weights
    position_ids = encoder.text_model.embeddings.position_ids
    assert position_ids.dtype == torch.int64 and torch.equal(position_ids, torch.arange(77).unsqueeze(0))
    assert not any(t.is_meta for t in [*encoder.parameters(), *encoder.buffers()])
    assert not encoder.training


def test_encoder_is_constructed_on_the_meta_device_only(tiny_checkpoints, monkeypatch):
    built_on = []
    original_init = ClipTextEncoder.__init__

    def recording_init(self, config):
        original_init(self, config)
        built_on.append({p.device.type for p in self.parameters()})

    monkeypatch.setattr(ClipTextEncoder, "__init__", recording_init)
    tensors = _file_tensors(tiny_checkpoints["sd15"], _SD15_CLIP)
    build_encoder_patcher(tensors, kind="clip_l", dtype=torch.bfloat16)
    assert built_on == [{"meta"}]  # one construction, with no storage behind it


def _bytes_allocated_while(build) -> int:
    """CPU bytes torch allocated (frees not subtracted) while `build()` ran."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        build()
    return sum(event.self_cpu_memory_usage for event in prof.events() if event.self_cpu_memory_usage > 0)


def test_building_allocates_no_second_copy_of_the_weights(tiny_checkpoints):
    tensors = _file_tensors(tiny_checkpoints["sd15"], _SD15_CLIP)
    weight_bytes = sum(t.numel() * t.element_size() for t in tensors.values())
    # in the file's dtype: only the position ids are new (an initialised model would cost weight_bytes)
    assert _bytes_allocated_while(lambda: build_encoder_patcher(tensors, kind="clip_l")) < weight_bytes / 100
    # converted: exactly one bf16 copy, no float32 model on the way
    converted = _bytes_allocated_while(lambda: build_encoder_patcher(tensors, kind="clip_l", dtype=torch.bfloat16))
    assert weight_bytes / 2 <= converted < weight_bytes / 2 * 1.01


def test_converted_encoder_releases_each_source_once(tiny_checkpoints):
    tensors = _file_tensors(tiny_checkpoints["sd15"], _SD15_CLIP)
    released = []
    encoder = build_encoder_patcher(tensors, kind="clip_l", dtype=torch.bfloat16, release=released.append).model
    params = dict(encoder.named_parameters())
    assert sorted(released) == sorted(params)  # each weight's source dropped exactly once, after its copy
    for name, param in params.items():
        assert param.dtype == torch.bfloat16 and torch.equal(param, tensors[name].to(torch.bfloat16)), name


def test_openclip_sources_are_released_only_when_no_parameter_uses_them(tiny_checkpoints):
    tensors = _file_tensors(tiny_checkpoints["sdxl"], _SDXL_G)
    in_proj = "transformer.resblocks.0.attn.in_proj_weight"
    converted = []
    build_encoder_patcher(tensors, kind="clip_g", dtype=torch.bfloat16, release=converted.append)
    # in_proj is released once, after all three of its q/k/v slices were copied; logit_scale is unused
    assert sorted(converted) == sorted(k for k in tensors if k != "logit_scale")
    kept = []
    encoder = build_encoder_patcher(tensors, kind="clip_g", release=kept.append).model
    # same dtype: q/k/v stay slices of the mapped in_proj; only the transposed projection is a copy
    assert kept == ["text_projection"]
    q_proj = encoder.get_parameter("text_model.encoder.layers.0.self_attn.q_proj.weight")
    assert q_proj.data_ptr() == tensors[in_proj].data_ptr()


def test_built_encoder_matches_one_loaded_the_classic_way(randomize):
    model = _encoder("clip_g", randomize, 4)
    built = build_encoder_patcher(hf_to_openclip(model.state_dict()), kind="clip_g").model
    ids = torch.tensor([_padded("a red cube", 0)])
    with torch.no_grad():
        expected, got = model(ids), built(ids)
    assert torch.equal(got.last_hidden_state, expected.last_hidden_state)
    assert torch.equal(got["text_embeds"], expected["text_embeds"])


def test_bad_weights_are_refused_naming_the_key(randomize):
    model = _encoder("clip_l", randomize, 0)
    ints = dict(model.state_dict())
    ints["text_model.final_layer_norm.bias"] = torch.zeros(64, dtype=torch.int32)
    with pytest.raises(TextEncoderError, match=r"final_layer_norm\.bias has non-float dtype torch\.int32"):
        build_encoder_patcher(ints)
    wrong = dict(model.state_dict())
    wrong["text_model.encoder.layers.0.mlp.fc1.bias"] = torch.zeros(3)
    with pytest.raises(TextEncoderError, match=r"layers\.0\.mlp\.fc1\.bias: shape \(3,\) does not fit"):
        build_encoder_patcher(wrong)
    with pytest.raises(ValueError, match="non-float"):
        clip_handle_from_state_dicts("sd15", {"l": ints})
