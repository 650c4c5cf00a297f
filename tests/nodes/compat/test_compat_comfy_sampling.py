"""comfy.samplers / comfy.sample for packs: a pack node sampling through them gives our KSampler's LATENT for
the same seed; calculate_sigmas on get_model_object("model_sampling") is BasicScheduler's; unsupported use
raises naming the symbol."""

# ruff: noqa: F811

from __future__ import annotations

import pytest
import torch

from nodes.library.conditioning.clip_text import CLIPTextEncode
from nodes.library.sampling.custom_sampling import BasicScheduler, SamplerCustom
from nodes.library.sampling.ksampler import KSampler
from tests.nodes.compat.compat_packs import compat, load_pack, run_node  # noqa: F401
from tests.nodes.sd_fixtures import call, context, sd_runtime, tiny_files, tiny_models  # noqa: F401

PACK = """
import comfy.sample
import comfy.samplers

class PackSampler:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"model": ("MODEL",), "positive": ("CONDITIONING",), "negative": ("CONDITIONING",),
                             "latent": ("LATENT",), "seed": ("INT", {"default": 0}),
                             "sampler_name": (comfy.samplers.KSampler.SAMPLERS,),
                             "scheduler": (comfy.samplers.KSampler.SCHEDULERS,),
                             "use_object": ("BOOLEAN", {"default": False})}}
    RETURN_TYPES = ("LATENT",)
    FUNCTION = "go"

    def go(self, model, positive, negative, latent, seed, sampler_name, scheduler, use_object):
        samples = comfy.sample.fix_empty_latent_channels(model, latent["samples"])
        noise = comfy.sample.prepare_noise(samples, seed, latent.get("batch_index"))
        if use_object:
            sampler = comfy.samplers.KSampler(model, steps=3, device="cpu", sampler=sampler_name,
                                              scheduler=scheduler, denoise=0.8)
            out = sampler.sample(noise, positive, negative, cfg=5.0, latent_image=samples, seed=seed)
        else:
            out = comfy.sample.sample(model, noise, 3, 5.0, sampler_name, scheduler, positive, negative, samples,
                                      denoise=0.8, seed=seed)
        return ({**latent, "samples": out},)

NODE_CLASS_MAPPINGS = {"PackSampler": PackSampler}
"""


@pytest.fixture
def sd15(compat, tiny_models):
    model = tiny_models["sd15"]
    pos = call(CLIPTextEncode, context(compat), text="a red fox", clip=model.clip)[0]
    neg = call(CLIPTextEncode, context(compat), text="", clip=model.clip)[0]
    return model.model, pos, neg


def test_pack_sampling_equals_our_ksampler(compat, tmp_path, sd15):
    model, pos, neg = sd15
    registry, report = load_pack(compat, tmp_path, PACK)
    assert not report.failed, report.messages
    latent = {"samples": torch.zeros(1, 4, 8, 8)}
    for sampler_name, use_object in (("euler", False), ("euler_ancestral", True)):
        inputs = dict(model=model, positive=pos, negative=neg, seed=5, sampler_name=sampler_name, scheduler="karras")
        (theirs,) = run_node(registry, compat, "PackSampler", latent=latent, use_object=use_object, **inputs)
        (ours,) = call(KSampler, context(compat), latent_image=latent, steps=3, cfg=5.0, denoise=0.8, **inputs)
        assert torch.equal(theirs["samples"], ours["samples"]), sampler_name
    (other,) = run_node(registry, compat, "PackSampler", latent=latent, use_object=True, **{**inputs, "seed": 6})
    assert not torch.equal(other["samples"], ours["samples"])


def test_calculate_sigmas_sampler_object_and_sample_custom(compat, sd15):
    import comfy.sample
    import comfy.samplers

    model, pos, neg = sd15
    sigmas = comfy.samplers.calculate_sigmas(model.get_model_object("model_sampling"), "karras", 4)
    (ours,) = call(BasicScheduler, context(compat), model=model, scheduler="karras", steps=4, denoise=1.0)
    assert torch.equal(sigmas, ours)
    sampler = comfy.samplers.sampler_object("euler")
    latent = torch.zeros(1, 4, 8, 8)
    noise = comfy.sample.prepare_noise(latent, 3)
    theirs = comfy.sample.sample_custom(model, noise, 4.0, sampler, sigmas, pos, neg, latent, seed=3)
    (reference, _) = call(SamplerCustom, context(compat), model=model, add_noise=True, noise_seed=3, cfg=4.0,
                          positive=pos, negative=neg, sampler=sampler, sigmas=sigmas,
                          latent_image={"samples": latent})
    assert torch.equal(theirs, reference["samples"])
    assert comfy.samplers.KSampler.SAMPLERS[0] == "euler" and "karras" in comfy.samplers.SCHEDULER_NAMES


def test_unsupported_sampling_calls_name_the_symbol(compat):
    import comfy.sample
    import comfy.samplers

    with pytest.raises(NotImplementedError, match="comfy.samplers.KSAMPLER.*sampler_object"):
        comfy.samplers.KSAMPLER(lambda model, x, sigmas, **kw: x)
    with pytest.raises(ValueError, match="unknown sampler 'nope'"):
        comfy.samplers.sampler_object("nope")
    with pytest.raises(TypeError, match="calculate_sigmas: model_sampling must be"):
        comfy.samplers.calculate_sigmas(object(), "karras", 4)
    with pytest.raises(TypeError, match="sample_custom: sampler must be a SAMPLER"):
        comfy.sample.sample_custom(None, None, 1.0, "euler", None, [], [], None)
