"""The VAE, ControlNets, upscale and CLIP vision models go through the model manager like the UNet: after
their nodes run the manager lists them; on a simulated device (a recording mover, a small budget) loading the
VAE evicts the UNet when both do not fit, and a ControlNet loads in the same call as the UNet it steers."""

# The fixtures imported from sd_fixtures are used as test arguments (pytest's by-name injection).
# ruff: noqa: F811

from __future__ import annotations

import pytest
import torch

from diffusion.checkpoints.weight_kinds import write_kind
from diffusion.memory.model_manager import ModelManager
from diffusion.models.clip_vision.encode import ClipVisionOutput
from diffusion.models.controlnet.cldm import ControlNetModel
from diffusion.models.controlnet.load import load_controlnet
from diffusion.models.controlnet.make import controlnet_config
from diffusion.models.controlnet.make_adapters import write_control_lora
from diffusion.sampling.control import ControlModel
from nodes.api.model_services import managed_patcher
from nodes.library.controlnet.controlnet_apply import ControlNetApplyAdvanced
from nodes.library.latent.vae_codec import VAEDecode, VAEEncode
from nodes.library.sampling.ksampler import KSampler
from nodes.library.upscaling.upscale_model import ImageUpscaleWithModel, UpscaleModelLoader
from nodes.library.vision.clip_vision_nodes import CLIPVisionEncode, CLIPVisionLoader
from nodes.library.vision.gligen_nodes import GLIGENLoader
from nodes.library.vision.style_model_nodes import StyleModelApply, StyleModelLoader
from tests.nodes.sd_fixtures import call, context, sd_runtime, tiny_files, tiny_models  # noqa: F401


class RecordingMover:
    """Stands in for `.to(device)` on a simulated GPU: records each move (base key, device)."""

    def __init__(self) -> None:
        self.moves: list[tuple[int, str]] = []

    def __call__(self, patcher, device) -> None:
        self.moves.append((patcher.base_key(), str(device)))


def simulated_device(runtime, budget_bytes: int) -> tuple[ModelManager, RecordingMover, list]:
    """The runtime's model manager replaced by one for a "cuda" device of `budget_bytes` whose moves are only
    recorded (so everything still computes on the CPU); also the base keys each load call named."""
    mover = RecordingMover()
    manager = ModelManager("cuda", budget_bytes=budget_bytes, mover=mover)
    calls: list[list[int]] = []
    load_models = manager.load_models

    def recording_load(patchers, **options):
        patchers = list(patchers)
        calls.append([p.base_key() for p in patchers])
        return load_models(patchers, **options)

    manager.load_models = recording_load
    runtime.models.manager = manager
    return manager, mover, calls


def latent(size: int = 4) -> dict:
    return {"samples": torch.randn(1, 4, size, size, generator=torch.Generator().manual_seed(0))}


def conditioning(model, **options) -> list:
    width = model.model.config.context_dim
    return [[torch.randn(1, 7, width, generator=torch.Generator().manual_seed(1)), dict(options)]]


def test_vae_decode_and_encode_load_the_vae_through_the_manager(sd_runtime, tiny_models):
    vae = tiny_models["sd15"].vae
    (image,) = call(VAEDecode, context(sd_runtime), samples=latent(), vae=vae)
    manager = sd_runtime.models.manager
    assert manager.is_loaded(vae.patcher)
    assert "AutoencoderKL" in [row["model"] for row in manager.resident()]
    manager.unload_all()
    call(VAEEncode, context(sd_runtime), pixels=image, vae=vae)
    assert manager.is_loaded(vae.patcher)
    assert vae.device == torch.device("cpu")  # a CPU run: nothing moved


def test_loading_the_vae_evicts_the_unet_when_both_do_not_fit(sd_runtime, tiny_models):
    unet, vae = tiny_models["sd15"].model, tiny_models["sd15"].vae
    samples = latent()
    work = vae.decode_work_bytes(samples["samples"].shape, one_item=True)
    # room for the VAE and its decode, and for the UNet alone, but not for all three
    budget = vae.patcher.model_size_bytes() + work + unet.model_size_bytes() // 2
    assert unet.model_size_bytes() <= budget
    manager, mover, _ = simulated_device(sd_runtime, budget)
    sd_runtime.models.load([unet])
    assert manager.is_loaded(unet) and (unet.base_key(), "cuda") in mover.moves
    call(VAEDecode, context(sd_runtime), samples=samples, vae=vae)
    assert manager.is_loaded(vae.patcher) and not manager.is_loaded(unet)
    assert mover.moves[-2:] == [(unet.base_key(), "cpu"), (vae.patcher.base_key(), "cuda")]
    assert manager.last_plan.fits and not manager.streamed()


def test_vae_decode_estimate_falls_back_to_a_tile_when_the_whole_would_not_fit(tiny_models):
    vae = tiny_models["sd15"].vae
    shape = (1, 4, 128, 128)  # a 1024 px image
    whole = vae.decode_work_bytes(shape)
    assert vae.decode_work_bytes(shape, room=whole * 2) == whole
    tiled = vae.decode_work_bytes(shape, room=whole // 4)
    assert 0 < tiled <= whole // 4


def test_a_controlnet_loads_in_the_same_call_as_its_unet(sd_runtime, tiny_models):
    unet = tiny_models["sd15"].model
    network = ControlNetModel(controlnet_config("sd15", "tiny")).eval()
    control_net = ControlModel(network, "controlnet", "sd1", "control_tiny.safetensors")
    positive, negative = ControlNetApplyAdvanced.run(
        None, positive=conditioning(unet), negative=conditioning(unet), control_net=control_net,
        image=torch.rand(1, 32, 32, 3), strength=1.0, start_percent=0.0, end_percent=1.0)
    control_patcher = managed_patcher(network, sd_runtime.models.choice)
    sizes = unet.model_size_bytes() + control_patcher.model_size_bytes()
    manager, mover, calls = simulated_device(sd_runtime, 4 * sizes + (256 << 20))
    (out,) = call(KSampler, context(sd_runtime), model=unet, seed=0, steps=2, cfg=2.0, sampler_name="euler",
                  scheduler="normal", positive=positive, negative=negative, latent_image=latent(), denoise=1.0)
    assert out["samples"].shape == (1, 4, 4, 4) and torch.isfinite(out["samples"]).all()
    assert [unet.base_key(), control_patcher.base_key()] in calls  # one call: counted together
    assert manager.is_loaded(unet) and manager.is_loaded(control_patcher)
    assert (control_patcher.base_key(), "cuda") in mover.moves
    assert "ControlNetModel" in [row["model"] for row in manager.resident()]
    assert control_patcher.source is not None and control_patcher.source.endswith("control_tiny.safetensors")


def test_a_control_lora_is_built_once_and_loaded_with_the_unet(sd_runtime, tiny_models, tmp_path):
    unet = tiny_models["sd15"].model
    path = tmp_path / "control_lora.safetensors"
    write_control_lora(str(path), family="sd15", size="tiny", seed=6, dtype=torch.float32)
    control_lora = load_controlnet(path)
    positive, negative = ControlNetApplyAdvanced.run(
        None, positive=conditioning(unet), negative=conditioning(unet), control_net=control_lora,
        image=torch.rand(1, 32, 32, 3), strength=1.0, start_percent=0.0, end_percent=1.0)
    manager, _, calls = simulated_device(sd_runtime, 1 << 30)
    call(KSampler, context(sd_runtime), model=unet, seed=0, steps=2, cfg=2.0, sampler_name="euler",
         scheduler="normal", positive=positive, negative=negative, latent_image=latent(), denoise=1.0)
    (network,) = control_lora.built.values()  # the one built before sampling is the one sampling ran
    patcher = managed_patcher(network, sd_runtime.models.choice)
    assert [unet.base_key(), patcher.base_key()] in calls and manager.is_loaded(patcher)
    assert patcher.source is None  # made from the sampled model, not read from a file of its own


def test_a_gligen_model_loads_with_the_unet_and_computes_where_it_was_put(sd_runtime, tiny_models):
    unet = tiny_models["sd15"].model
    folder = sd_runtime.folders.model_paths("gligen")[0]
    folder.mkdir(parents=True, exist_ok=True)
    write_kind("gligen", str(folder / "g.safetensors"), family=None, size="tiny", seed=0, dtype=torch.float32)
    (gligen,) = call(GLIGENLoader, context(sd_runtime), gligen_name="g.safetensors")
    width = unet.model.config.context_dim
    positive = conditioning(unet, gligen=("position", gligen, [(torch.ones(1, width), 2, 2, 0, 0)]))
    manager, _, calls = simulated_device(sd_runtime, 1 << 30)
    call(KSampler, context(sd_runtime), model=unet, seed=0, steps=1, cfg=2.0, sampler_name="euler",
         scheduler="normal", positive=positive, negative=conditioning(unet), latent_image=latent(), denoise=1.0)
    gligen_patcher = managed_patcher(getattr(gligen, "model", gligen), sd_runtime.models.choice)
    assert [unet.base_key(), gligen_patcher.base_key()] in calls and manager.is_loaded(gligen_patcher)


def test_upscale_clip_vision_and_style_models_are_loaded_through_the_manager(runtime):
    upscale_folder = runtime.folders.models_dir / "upscale_models"
    upscale_folder.mkdir(parents=True, exist_ok=True)
    write_kind("upscaler-esrgan", str(upscale_folder / "x4.pth"), family=None, size="tiny", seed=3,
               dtype=torch.float16)
    vision_folder = runtime.folders.model_paths("clip_vision")[0]
    write_kind("clip-vision-h", str(vision_folder / "h.safetensors"), family=None, size="tiny", seed=0,
               dtype=torch.float16)
    ctx = context(runtime)
    (upscaler,) = call(UpscaleModelLoader, ctx, model_name="x4.pth")
    (out,) = call(ImageUpscaleWithModel, ctx, upscale_model=upscaler, image=torch.rand(1, 8, 8, 3))
    assert out.shape == (1, 32, 32, 3)
    manager = runtime.models.manager
    upscale_patcher = managed_patcher(upscaler.module, runtime.models.choice)
    assert manager.is_loaded(upscale_patcher) and upscale_patcher.source.endswith("x4.pth")
    (vision,) = call(CLIPVisionLoader, ctx, clip_name="h.safetensors")
    call(CLIPVisionEncode, ctx, clip_vision=vision, image=torch.rand(1, 40, 40, 3), crop="center")
    vision_patcher = managed_patcher(vision.model, runtime.models.choice)
    assert manager.is_loaded(vision_patcher) and vision_patcher.source.endswith("h.safetensors")
    assert manager.is_loaded(upscale_patcher)  # both fit: nothing evicted
    style_folder = runtime.folders.model_paths("style_models")[0]
    write_kind("style-model", str(style_folder / "s.safetensors"), family=None, size="tiny", seed=0,
               dtype=torch.float32)
    (style,) = call(StyleModelLoader, ctx, style_model_name="s.safetensors")
    hidden = torch.randn(1, 257, 32)
    vision_output = ClipVisionOutput(last_hidden_state=hidden, penultimate_hidden_states=hidden,
                                     image_embeds=torch.zeros(1, 8))
    call(StyleModelApply, ctx, conditioning=[[torch.randn(1, 77, 64), {}]], style_model=style,
         clip_vision_output=vision_output, strength=1.0, strength_type="multiply")
    assert manager.is_loaded(managed_patcher(style, runtime.models.choice))


def test_managed_patcher_is_one_per_module(sd_runtime):
    module = torch.nn.Linear(2, 2)
    choice = sd_runtime.models.choice
    first = managed_patcher(module, choice, source="/a")
    assert managed_patcher(module, choice) is first and first.source == "/a"
    assert "_managed_patcher" not in module.state_dict() and managed_patcher(torch.nn.Linear(2, 2), choice) is not first


if __name__ == "__main__":
    pytest.main([__file__])
