"""Upscale model files: the ESRGAN writer's layout as spandrel reads it, safe loading, clear errors."""

from __future__ import annotations

import os
import pickle
import sys

import pytest
import torch

from diffusion.checkpoints.checkpoint import CheckpointError
from diffusion.checkpoints.weight_kinds import recognise, write_kind
from diffusion.models.upscale.loading import UpscaleModelError, import_spandrel, load_upscale_model
from diffusion.models.upscale.make_esrgan import esrgan_shapes, random_esrgan


@pytest.mark.parametrize("suffix", [".pth", ".safetensors"])
def test_written_esrgan_loads_as_spandrel_esrgan(tmp_path, suffix):
    path = tmp_path / f"RealESRGAN_x4plus{suffix}"
    write_kind("upscaler-esrgan", str(path), family=None, size="tiny", seed=1, dtype=torch.float32)
    model = load_upscale_model(path)
    assert (model.architecture, model.scale) == ("ESRGAN", 4)
    # the same weights, built by spandrel directly, compute the same picture
    spandrel = import_spandrel()
    reference = spandrel.ModelLoader().load_from_state_dict(random_esrgan("tiny", seed=1)).eval()
    image = torch.rand(1, 3, 12, 16, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        torch.testing.assert_close(model(image), reference(image), atol=1e-6, rtol=0)
    assert model(image).shape == (1, 3, 48, 64)


def test_full_size_layout_is_the_real_4x_rrdb():
    shapes = esrgan_shapes(23, 64, 32)
    assert shapes["model.1.sub.22.RDB3.conv5.0.weight"] == (64, 64 + 4 * 32, 3, 3)
    assert shapes["model.1.sub.23.weight"] == (64, 64, 3, 3) and shapes["model.10.weight"] == (3, 64, 3, 3)
    assert sum(torch.Size(s).numel() for s in shapes.values()) == 16_697_987  # RealESRGAN_x4plus's parameter count


def test_inspect_recognises_the_esrgan():
    described = recognise(random_esrgan("tiny"))
    assert described["kind"] == "upscaler-esrgan"
    assert (described["scale"], described["blocks"], described["features"]) == (4, 1, 8)


def test_spandrel_imports_without_torchvision_and_leaves_no_stand_in():
    import_spandrel()
    try:
        import torchvision  # noqa: F401
    except ImportError:
        assert "torchvision" not in sys.modules


def test_unknown_architecture_names_the_file(tmp_path):
    path = tmp_path / "mystery.pth"
    torch.save({"foo.weight": torch.zeros(3, 3)}, path)
    with pytest.raises(UpscaleModelError, match=r"mystery\.pth: not an upscale model .*ESRGAN"):
        load_upscale_model(path)


def test_incomplete_esrgan_names_the_file(tmp_path):
    path = tmp_path / "broken.pth"
    weights = random_esrgan("tiny")
    del weights["model.6.weight"]
    torch.save(weights, path)
    with pytest.raises(UpscaleModelError, match=r"broken\.pth"):
        load_upscale_model(path)


def test_truncated_file_names_the_file(tmp_path):
    path = tmp_path / "cut.pth"
    torch.save(random_esrgan("tiny"), path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=r"cut\.pth.*(truncated|corrupt)"):
        load_upscale_model(path)


class _RunsCode:
    def __reduce__(self):
        return (os.system, ("echo pwned > /dev/null",))


def test_a_pickle_that_would_run_code_is_refused(tmp_path):
    path = tmp_path / "evil.pth"
    with open(path, "wb") as f:
        pickle.dump({"model.0.weight": _RunsCode()}, f)
    with pytest.raises(CheckpointError, match=r"evil\.pth"):
        load_upscale_model(path)
