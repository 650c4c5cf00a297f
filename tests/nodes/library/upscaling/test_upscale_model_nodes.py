"""UpscaleModelLoader / ImageUpscaleWithModel on a tiny random ESRGAN written by make-checkpoint."""

from __future__ import annotations

import pytest
import torch

from diffusion.checkpoints.checkpoint import CheckpointError
from diffusion.checkpoints.weight_kinds import write_kind
from diffusion.models.upscale import tiling
from diffusion.models.upscale.loading import UpscaleModel, UpscaleModelError, import_spandrel
from diffusion.models.upscale.make_esrgan import random_esrgan
from nodes.api.declare import DeclaredNodeType
from nodes.library.upscaling.upscale_model import ImageUpscaleWithModel, UpscaleModelLoader
from tests.nodes.sd_fixtures import call, context


@pytest.fixture
def esrgan_runtime(runtime):
    folder = runtime.folders.models_dir / "upscale_models"
    folder.mkdir(parents=True, exist_ok=True)
    write_kind("upscaler-esrgan", str(folder / "RealESRGAN_x4plus.pth"), family=None, size="tiny", seed=3,
               dtype=torch.float16)
    return runtime


def test_loader_lists_the_folder_and_loads_a_4x_esrgan(esrgan_runtime):
    schema = DeclaredNodeType(UpscaleModelLoader, esrgan_runtime).schema()
    assert "RealESRGAN_x4plus.pth" in schema.input("model_name").choices
    (model,) = call(UpscaleModelLoader, context(esrgan_runtime), model_name="RealESRGAN_x4plus.pth")
    assert isinstance(model, UpscaleModel) and model.scale == 4 and model.architecture == "ESRGAN"
    assert next(model.module.parameters()).dtype == torch.float32
    (again,) = call(UpscaleModelLoader, context(esrgan_runtime), model_name="RealESRGAN_x4plus.pth")
    assert again is model  # shared through the runtime's file cache


def test_upscale_matches_spandrel_and_clamps(esrgan_runtime):
    (model,) = call(UpscaleModelLoader, context(esrgan_runtime), model_name="RealESRGAN_x4plus.pth")
    image = torch.rand(2, 10, 14, 3, generator=torch.Generator().manual_seed(0))
    (out,) = call(ImageUpscaleWithModel, context(esrgan_runtime), upscale_model=model, image=image)
    assert out.shape == (2, 40, 56, 3)
    reference = import_spandrel().ModelLoader().load_from_state_dict(
        {k: v.half().float() for k, v in random_esrgan("tiny", seed=3).items()}).eval()
    with torch.inference_mode():
        expected = reference(image.movedim(-1, 1)).clamp(0, 1).movedim(1, -1)
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=0)
    assert 0.0 <= out.min() and out.max() <= 1.0


def test_large_image_is_tiled_and_reports_progress(esrgan_runtime, monkeypatch):
    model = UpscaleModel(descriptor=import_spandrel().ModelLoader().load_from_state_dict(
        random_esrgan("tiny", seed=4)).eval(), name="x.pth")
    monkeypatch.setattr(tiling, "START_TILE", 32)
    monkeypatch.setattr(tiling, "OVERLAP", 8)
    ctx = context(esrgan_runtime)
    image = torch.rand(1, 40, 40, 3, generator=torch.Generator().manual_seed(1))
    (out,) = call(ImageUpscaleWithModel, ctx, upscale_model=model, image=image)
    assert out.shape == (1, 160, 160, 3)
    # 40 px in 32-px tiles overlapping by 8: range(0, 32, 24) = 0, 24 on each axis, 4 tiles
    assert [c[:2] for c in ctx.on_progress.calls] == [(1, 4), (2, 4), (3, 4), (4, 4)]
    # tiles blend to nearly the untiled picture (the seams differ only where a tile edge sees padding)
    with torch.inference_mode():
        whole = model(image.movedim(-1, 1)).clamp(0, 1).movedim(1, -1)
    assert (out - whole).abs().mean() < 2e-3


def test_bad_inputs_say_what_was_expected(esrgan_runtime):
    folder = esrgan_runtime.folders.models_dir / "upscale_models"
    torch.save({"foo.weight": torch.zeros(2)}, folder / "odd.pth")
    with pytest.raises(UpscaleModelError, match=r"UpscaleModelLoader: odd\.pth: not an upscale model"):
        call(UpscaleModelLoader, context(esrgan_runtime), model_name="odd.pth")
    (folder / "cut.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{\"a\":")
    with pytest.raises(CheckpointError, match=r"cut\.safetensors.*expected an upscale model"):
        call(UpscaleModelLoader, context(esrgan_runtime), model_name="cut.safetensors")
    with pytest.raises(TypeError, match="expected an UPSCALE_MODEL"):
        call(ImageUpscaleWithModel, context(esrgan_runtime), upscale_model="nope", image=torch.zeros(1, 8, 8, 3))
