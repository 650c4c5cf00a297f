"""Fixtures for the model tests: seeded weight randomisation and tiny checkpoint files."""

from __future__ import annotations

import pytest
import torch


def randomize_weights(module: torch.nn.Module, seed: int = 0, scale: float = 1.0) -> torch.nn.Module:
    """Give every parameter seeded random values (norm weights around 1), so parity tests see
    non-trivial weights everywhere, including norms and biases that default to 1 / 0."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in module.named_parameters():
            noise = torch.randn(param.shape, generator=generator)
            is_norm_weight = param.ndim == 1 and name.endswith("weight")
            if is_norm_weight:
                param.copy_(1.0 + 0.1 * noise)
            elif param.ndim == 1:
                param.copy_(0.05 * noise)
            else:
                fan_in = param[0].numel()
                param.copy_(scale * noise / fan_in**0.5)
    return module


@pytest.fixture
def randomize():
    """The `randomize_weights(module, seed)` helper."""
    return randomize_weights


TINY_FAMILIES = ("sd15", "sd15-inpaint", "sd21", "sd21-v", "sdxl", "sdxl-refiner")


@pytest.fixture(scope="session")
def tiny_checkpoints(tmp_path_factory):
    """Tiny fp32 checkpoints of every family, written once per session: family -> path."""
    from diffusion.checkpoints.make_checkpoint import write_checkpoint

    folder = tmp_path_factory.mktemp("tiny_checkpoints")
    paths = {}
    for family in TINY_FAMILIES:
        paths[family] = folder / f"tiny-{family}.safetensors"
        write_checkpoint(paths[family], family, "tiny", seed=7, dtype=torch.float32)
    return paths


@pytest.fixture
def disk(tmp_path):
    """A folder on a disk file system for file-backed tensors (skips where the test folder is in memory)."""
    from diffusion.memory.file_backed import disk_directory

    directory = disk_directory(tmp_path / "weights")
    if directory is None:
        pytest.skip("the test folder is not on a disk file system")
    return directory
