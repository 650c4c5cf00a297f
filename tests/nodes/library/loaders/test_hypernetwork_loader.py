"""HypernetworkLoader on a tiny UNet: patches self- and cross-attention of a clone; strength 0 is the identity."""

from __future__ import annotations

import pytest
import torch

from diffusion.checkpoints.weight_kinds import write_kind
from diffusion.models.hypernetwork.hypernetwork import HypernetworkError
from nodes.library.loaders.hypernetwork_loader import HypernetworkLoader
from tests.nodes.library.model_patches.patch_fixtures import positive_only, table_sigma, tiny_unet_handle
from tests.nodes.sd_fakes import values


def _output(handle):
    x = torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(1))
    context = torch.randn(1, 3, handle.model.config.context_dim, generator=torch.Generator().manual_seed(9))
    with torch.no_grad():
        return positive_only(handle, x, table_sigma(500), context)


@pytest.fixture
def hyper_ctx(runtime, make_ctx):
    folder = runtime.folders.models_dir / "hypernetworks"
    folder.mkdir(parents=True, exist_ok=True)
    write_kind("hypernetwork", str(folder / "h.pt"), family="sd15", size="tiny", seed=0, dtype=torch.float32)
    return make_ctx()


def test_strength_zero_is_the_identity_and_one_changes_the_output(hyper_ctx):
    handle = tiny_unet_handle()
    (neutral,) = values(HypernetworkLoader, hyper_ctx, model=handle, hypernetwork_name="h.pt", strength=0.0)
    torch.testing.assert_close(_output(neutral), _output(handle), rtol=1e-6, atol=1e-6)
    (patched,) = values(HypernetworkLoader, hyper_ctx, model=handle, hypernetwork_name="h.pt", strength=5.0)
    assert len(patched.options["attn1_patch"]) == len(patched.options["attn2_patch"]) == 1
    assert not torch.allclose(_output(patched), _output(handle), atol=1e-6)
    assert handle.options == {} and patched.is_clone(handle)


def test_a_file_that_is_not_a_hypernetwork_names_the_node_and_file(hyper_ctx, runtime):
    torch.save({"foo": torch.zeros(2)}, runtime.folders.models_dir / "hypernetworks" / "odd.pt")
    with pytest.raises(HypernetworkError, match=r"HypernetworkLoader: odd\.pt: not a hypernetwork"):
        values(HypernetworkLoader, hyper_ctx, model=tiny_unet_handle(), hypernetwork_name="odd.pt", strength=1.0)
