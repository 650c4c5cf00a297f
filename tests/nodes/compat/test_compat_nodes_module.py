"""ComfyUI's `nodes` module for packs (nodes/__init__.py, nodes/compat/core_nodes.py): the constants, the
core classes called classic-style with ComfyUI's FUNCTION names and argument order, node_helpers,
and a clear error for a name that is not provided."""

# ruff: noqa: F811

from __future__ import annotations

import pytest
import torch

import nodes
from nodes.compat import node_helpers
from nodes.library.conditioning.clip_text import CLIPTextEncode
from nodes.library.latent.latent_ops import EmptyLatentImage
from tests.nodes.compat.compat_packs import compat, load_pack, run_node  # noqa: F401
from tests.nodes.sd_fixtures import call, context, sd_runtime, tiny_files, tiny_models  # noqa: F401


def test_constants_mappings_and_classic_shape():
    assert nodes.MAX_RESOLUTION == 16384
    mappings = nodes.NODE_CLASS_MAPPINGS
    assert {"KSampler", "CLIPTextEncode", "CheckpointLoaderSimple", "SaveImage", "PreviewImage"} <= set(mappings)
    assert nodes.NODE_DISPLAY_NAME_MAPPINGS["CheckpointLoaderSimple"] == "Load Checkpoint"
    assert nodes.KSampler is mappings["KSampler"] and nodes.KSampler.FUNCTION == "sample"
    assert nodes.VAEDecode.FUNCTION == "decode" and nodes.LoraLoader.FUNCTION == "load_lora"
    assert nodes.CheckpointLoaderSimple.RETURN_TYPES == ("MODEL", "CLIP", "VAE")
    required = nodes.KSampler.INPUT_TYPES()["required"]
    assert list(required)[:3] == ["model", "seed", "steps"] and required["steps"][1]["default"] == 20
    assert nodes.SaveImage.OUTPUT_NODE and nodes.SaveImage.INPUT_TYPES()["hidden"]["prompt"] == "PROMPT"


def test_a_name_nodes_lacks_is_an_attribute_error_naming_what_exists():
    with pytest.raises(AttributeError, match="no attribute 'NoSuchCoreNode'.*KSampler"):
        _ = nodes.NoSuchCoreNode
    assert not hasattr(nodes, "__wrapped__")


def test_clip_text_encode_classic_call_equals_our_node(compat, tiny_models):
    clip = tiny_models["sd15"].clip
    (ours,) = call(CLIPTextEncode, context(compat), text="x", clip=clip)
    (theirs,) = nodes.CLIPTextEncode().encode(clip, "x")  # ComfyUI's order: clip before text
    assert torch.equal(theirs[0][0], ours[0][0]) and torch.equal(theirs[0][1]["pooled_output"],
                                                                 ours[0][1]["pooled_output"])
    with pytest.raises(TypeError, match="CLIPTextEncode: missing argument 'text'"):
        nodes.CLIPTextEncode().encode(clip=clip)


def test_output_nodes_return_comfyui_ui_dict_and_defaults_fill_in(compat):
    (latent,) = nodes.EmptyLatentImage().generate(64, 64)  # batch_size takes its default
    assert latent["samples"].shape == (1, 4, 8, 8)
    assert torch.equal(latent["samples"], call(EmptyLatentImage, context(compat), width=64, height=64,
                                               batch_size=1)[0]["samples"])
    result = nodes.PreviewImage().save_images(torch.zeros(1, 8, 8, 3))
    assert set(result) == {"ui", "result"} and result["ui"]["images"][0]["type"] == "temp"


def test_a_pack_subclasses_and_calls_core_nodes(compat, tmp_path, tiny_models):
    registry, report = load_pack(compat, tmp_path, """
        import nodes
        import node_helpers

        class EncodeTwice(nodes.CLIPTextEncode):
            FUNCTION = "twice"

            def twice(self, text, clip):
                (cond,) = self.encode(clip, text)
                return (node_helpers.conditioning_set_values(cond, {"strength": 0.5}),)

        NODE_CLASS_MAPPINGS = {"EncodeTwice": EncodeTwice}
    """)
    assert not report.failed, report.messages
    clip = tiny_models["sd15"].clip
    (cond,) = run_node(registry, compat, "EncodeTwice", text="x", clip=clip)
    (ours,) = call(CLIPTextEncode, context(compat), text="x", clip=clip)
    assert torch.equal(cond[0][0], ours[0][0]) and cond[0][1]["strength"] == 0.5
    assert "strength" not in ours[0][1]


def test_a_pack_importing_a_symbol_not_provided_fails_naming_it(compat, tmp_path):
    _, report = load_pack(compat, tmp_path, """
        from comfy.samplers import NoSuchSampler
        NODE_CLASS_MAPPINGS = {}
    """)
    assert "NoSuchSampler" in report.failed[0].error and "comfy.samplers" in report.failed[0].error
    import comfy.samplers

    with pytest.raises(AttributeError, match="no attribute 'NoSuchSampler': latentgraph provides .*KSampler"):
        _ = comfy.samplers.NoSuchSampler


def test_conditioning_set_values_copies_and_appends():
    cond = [[torch.zeros(1, 2, 3), {"a": 1, "hooks": [1]}]]
    out = node_helpers.conditioning_set_values(cond, {"a": 2, "b": 3})
    assert out[0][1] == {"a": 2, "b": 3, "hooks": [1]} and cond[0][1] == {"a": 1, "hooks": [1]}
    assert out[0][0] is cond[0][0]
    appended = node_helpers.conditioning_set_values(cond, {"hooks": 2}, append=True)
    assert appended[0][1]["hooks"] == [1, 2] and cond[0][1]["hooks"] == [1]


def test_inside_a_running_node_its_runtime_and_context_are_used(sd_runtime, tiny_models, monkeypatch):
    from graph.running import node_running
    from nodes.compat import core_nodes, folder_paths

    core_nodes.bind(None)
    monkeypatch.setattr(folder_paths, "_folders", None)
    with pytest.raises(core_nodes.NoRuntimeError, match="before latentgraph bound a runtime"):
        nodes.EmptyLatentImage().generate(64, 64)
    running = context(sd_runtime)
    with node_running(running):
        (latent,) = nodes.EmptyLatentImage().generate(64, 64, 2)
        nodes.KSampler().sample(tiny_models["sd15"].model, 1, 2, 1.0, "euler", "normal",
                                *nodes.CLIPTextEncode().encode(tiny_models["sd15"].clip, "x") * 2, latent)
    assert latent["samples"].shape == (2, 4, 8, 8)
    assert [(v, t) for v, t, _ in running.on_progress.calls] == [(1, 2), (2, 2)]  # the nested KSampler's steps


def test_comfy_extras_reexport_our_classes_and_chainner_loads_with_spandrel(compat):
    import comfy_extras.nodes_clip_sdxl
    import comfy_extras.nodes_custom_sampler
    import comfy_extras.nodes_post_processing
    from comfy_extras.chainner_models import model_loading

    from diffusion.models.upscale.make_esrgan import random_esrgan

    assert comfy_extras.nodes_clip_sdxl.CLIPTextEncodeSDXL is nodes.CLIPTextEncodeSDXL
    assert comfy_extras.nodes_post_processing.Blend is nodes.ImageBlend  # ComfyUI's class name for that node
    assert comfy_extras.nodes_custom_sampler.KSamplerSelect.FUNCTION == "get_sampler"
    with pytest.raises(AttributeError, match="provides its node classes .*SamplerCustom"):
        _ = comfy_extras.nodes_custom_sampler.Noise_RandomNoise
    upscaler = model_loading.load_state_dict(random_esrgan("tiny")).eval()
    assert upscaler.scale == 4 and upscaler(torch.rand(1, 3, 8, 8)).shape == (1, 3, 32, 32)


def test_comfy_sd_loads_a_checkpoint_and_its_handles_work_as_comfyui(compat, tiny_files):
    import comfy.sd

    model, clip, vae, clip_vision = comfy.sd.load_checkpoint_guess_config(str(tiny_files["sd15"]))
    assert isinstance(clip, comfy.sd.CLIP) and isinstance(vae, comfy.sd.VAE) and clip_vision is None
    cond, pooled = clip.encode_from_tokens(clip.tokenize("x"), return_pooled=True)
    (ours,) = nodes.CLIPTextEncode().encode(clip, "x")
    assert torch.equal(cond, ours[0][0]) and torch.equal(pooled, ours[0][1]["pooled_output"])
    assert torch.equal(clip.encode_from_tokens_scheduled(clip.tokenize("x"))[0][0], cond)
    image = vae.decode(vae.encode(torch.rand(1, 16, 16, 3)))
    assert image.shape == (1, 16, 16, 3)
    assert model.get_model_object("diffusion_model") is model.model
    with pytest.raises(TypeError, match="load_checkpoint_guess_config: te_model_options not supported"):
        comfy.sd.load_checkpoint_guess_config(str(tiny_files["sd15"]), te_model_options={})


def test_loaders_called_classic_style(compat):
    model, clip, vae = nodes.CheckpointLoaderSimple().load_checkpoint("sd15.safetensors")
    lora_model, lora_clip = nodes.LoraLoader().load_lora(model, clip, "sd15_lora.safetensors", 0.5, 1.0)
    assert lora_model.is_clone(model) and lora_model.patches and not model.patches
    (latent,) = nodes.VAEEncode().encode(vae, torch.rand(1, 16, 16, 3))  # ComfyUI's order: vae first
    (image,) = nodes.VAEDecode().decode(vae, latent)
    assert latent["samples"].shape == (1, 4, 2, 2) and image.shape == (1, 16, 16, 3)
