"""Latent operations: sharpen and Reinhard tonemap against hand-worked formulas, applying them, errors."""

import math

import numpy as np
import pytest
import torch

from nodes.library.latent.latent_operations import (
    LatentApplyOperation,
    LatentOperationSharpen,
    LatentOperationTonemapReinhard,
    ReinhardOperation,
    SharpenOperation,
)
from tests.nodes.sd_fakes import values


@pytest.fixture
def ctx(make_ctx):
    return make_ctx()


def random_latent(channels=2, height=3, width=4, seed=0):
    return torch.randn(1, channels, height, width, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def expected_sharpen(latent: np.ndarray, alpha: float, sigma: float) -> np.ndarray:
    """Radius 1 by hand: the 3x3 Gaussian on the grid -1, 0, 1 has weights 1, e^(-1/2 s^2), e^(-1/s^2)
    (centre, edge, corner); the kernel is -10 alpha x the normalised Gaussian with 1 + 10 alpha added at
    its centre; it filters the reflect-padded unit directions, which are then scaled back."""
    edge, corner = math.exp(-1 / (2 * sigma ** 2)), math.exp(-1 / sigma ** 2)
    total = 1 + 4 * edge + 4 * corner
    kernel = -10 * alpha * np.array([[corner, edge, corner], [edge, 1.0, edge], [corner, edge, corner]]) / total
    kernel[1, 1] += 1 + 10 * alpha
    length = np.sqrt((latent ** 2).sum(axis=1, keepdims=True)) + 1e-6
    padded = np.pad(latent / length, ((0, 0), (0, 0), (1, 1), (1, 1)), mode="reflect")
    out = np.zeros_like(latent)
    for i in range(latent.shape[2]):
        for j in range(latent.shape[3]):
            out[:, :, i, j] = (padded[:, :, i:i + 3, j:j + 3] * kernel).sum(axis=(2, 3))
    return out * length


def test_sharpen_matches_the_hand_worked_kernel():
    latent = random_latent()
    got = SharpenOperation(radius=1, sigma=0.7, alpha=0.3)(latent=latent)
    assert torch.allclose(got, torch.from_numpy(expected_sharpen(latent.numpy(), 0.3, 0.7)), atol=1e-10)


def test_sharpen_with_alpha_0_or_a_constant_latent_changes_nothing():
    latent = random_latent(seed=1)
    assert torch.allclose(SharpenOperation(2, 1.0, 0.0)(latent=latent), latent, atol=1e-9)
    constant = torch.tensor([3.0, -1.0, 2.0, 0.5], dtype=torch.float64).reshape(1, 4, 1, 1).expand(2, 4, 5, 5)
    assert torch.allclose(SharpenOperation(2, 1.0, 2.0)(latent=constant), constant, atol=1e-9)


def test_sharpen_refuses_a_radius_as_large_as_the_latent():
    with pytest.raises(ValueError, match="LatentOperationSharpen: sharpen_radius 3 needs a latent larger than 3"):
        SharpenOperation(3, 1.0, 0.1)(latent=random_latent(height=3, width=8))


def test_reinhard_compresses_lengths_by_the_batch_statistics_and_keeps_directions():
    # Two pixels: (3, 4) of length 5 and (0, 1) of length 1: mean 3, sample std sqrt(8).
    latent = torch.tensor([[[[3.0, 0.0]], [[4.0, 1.0]]]], dtype=torch.float64)
    for multiplier in (1.0, 0.5):
        top = (5 * math.sqrt(8) + 3) * multiplier
        got = ReinhardOperation(multiplier)(latent=latent)
        for pixel, length in ((0, 5.0), (1, 1.0)):
            want = latent[0, :, 0, pixel] / length * (length * top / (length + top))
            assert torch.allclose(got[0, :, 0, pixel], want, atol=1e-8)
    assert not ReinhardOperation(0.0)(latent=latent).any()


def test_operation_nodes_make_operations_that_apply_to_the_samples(ctx):
    (sharpen,) = values(LatentOperationSharpen, ctx, sharpen_radius=1, sigma=0.7, alpha=0.3)
    (tonemap,) = values(LatentOperationTonemapReinhard, ctx, multiplier=2.0)
    assert sharpen == SharpenOperation(1, 0.7, 0.3) and tonemap == ReinhardOperation(2.0)
    mask = torch.ones(1, 1, 24, 32)
    samples = random_latent().float()
    source = {"samples": samples, "noise_mask": mask}
    (out,) = values(LatentApplyOperation, ctx, samples=source, operation=sharpen)
    assert torch.allclose(out["samples"], sharpen(latent=samples)) and out["noise_mask"] is mask
    (doubled,) = values(LatentApplyOperation, ctx, samples=source, operation=lambda latent, **_: latent * 2)
    assert torch.equal(doubled["samples"], samples * 2) and source["samples"] is samples


def test_apply_operation_reports_bad_operations(ctx):
    source = {"samples": random_latent().float()}
    with pytest.raises(TypeError, match="LatentApplyOperation: input 'operation' must be a LATENT_OPERATION"):
        values(LatentApplyOperation, ctx, samples=source, operation="sharpen")
    with pytest.raises(ValueError, match="LatentApplyOperation: the operation returned \\(1, 2\\)"):
        values(LatentApplyOperation, ctx, samples=source, operation=lambda latent, **_: latent[:, :, 0, 0])
    with pytest.raises(ValueError, match="LatentOperationSharpen: sharpen_radius must be at least 1"):
        values(LatentOperationSharpen, ctx, sharpen_radius=0, sigma=1.0, alpha=0.1)
