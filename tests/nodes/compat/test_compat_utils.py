"""comfy.utils for packs: resizing against direct computations, tiling, the safe file loader, ProgressBar."""

from __future__ import annotations

import io
import pickle

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from diffusion.checkpoints.checkpoint import CheckpointError
from graph.context import NodeContext, PreviewImage
from graph.running import node_running
from nodes.compat.comfy import utils


def image(batch=1, channels=3, height=12, width=16):
    return torch.rand(batch, channels, height, width, generator=torch.Generator().manual_seed(1))


def test_common_upscale_matches_a_direct_computation():
    samples = image()
    assert torch.equal(utils.common_upscale(samples, 32, 24, "bilinear", "disabled"),
                       F.interpolate(samples, size=(24, 32), mode="bilinear"))
    # centre crop of 16x12 to a square keeps columns 2..13, then resizes
    assert torch.equal(utils.common_upscale(samples, 6, 6, "nearest-exact", "center"),
                       F.interpolate(samples[..., :, 2:14], size=(6, 6), mode="nearest-exact"))
    expected = Image.fromarray((samples[0, 0].numpy() * 255).astype(np.uint8)).resize((8, 6), Image.Resampling.LANCZOS)
    lanczos = utils.common_upscale(samples, 8, 6, "lanczos", "disabled")
    assert torch.allclose(lanczos[0, 0], torch.from_numpy(np.asarray(expected, dtype=np.float32) / 255))
    assert utils.bislerp(torch.randn(1, 4, 8, 8), 16, 16).shape == (1, 4, 16, 16)
    with pytest.raises(ValueError, match="unknown upscale method"):
        utils.common_upscale(samples, 8, 8, "sharpest", "disabled")


def test_tiled_scale_equals_the_whole_image_and_counts_tiles():
    samples = image(batch=2, height=20, width=28)
    steps = []

    class Bar:
        def update(self, n):
            steps.append(n)

    out = utils.tiled_scale(samples, lambda x: F.interpolate(x, scale_factor=2, mode="nearest"),
                            tile_x=12, tile_y=12, overlap=4, upscale_amount=2, out_channels=3, pbar=Bar())
    assert torch.allclose(out, F.interpolate(samples, scale_factor=2, mode="nearest"), atol=1e-6)
    assert len(steps) == 2 * len(utils._tile_starts(20, 12, 4)) * len(utils._tile_starts(28, 12, 4))


def test_load_torch_file_reads_safetensors_and_weights_only_files(tmp_path):
    weights = {"a.weight": torch.arange(6.0).reshape(2, 3), "b": torch.ones(2)}
    utils.save_torch_file(weights, tmp_path / "w.safetensors", metadata={"format": "pt"})
    loaded, metadata = utils.load_torch_file(str(tmp_path / "w.safetensors"), return_metadata=True)
    assert metadata == {"format": "pt"} and torch.equal(loaded["a.weight"], weights["a.weight"])
    torch.save({"state_dict": weights}, tmp_path / "w.ckpt")
    assert set(utils.load_torch_file(tmp_path / "w.ckpt", safe_load=False)) == {"a.weight", "b"}


class _RunsCode:
    def __reduce__(self):
        import os

        return (os.mkdir, (self.marker,))


def test_load_torch_file_refuses_a_pickle_that_would_run_code(tmp_path):
    marker = tmp_path / "the_pickle_ran"
    payload = _RunsCode()
    payload.marker = str(marker)
    with open(tmp_path / "evil.pt", "wb") as handle:
        pickle.dump({"weight": payload}, handle, protocol=2)
    with pytest.raises(CheckpointError, match="refused to load"):
        utils.load_torch_file(tmp_path / "evil.pt", safe_load=False)
    assert not marker.exists()


def test_state_dict_and_attribute_helpers():
    sd = {"model.x": torch.zeros(2, 2), "model.y": torch.zeros(3), "other": torch.zeros(1)}
    assert utils.calculate_parameters(sd) == 8 and utils.calculate_parameters(sd, "model.") == 7
    assert set(utils.state_dict_prefix_replace(dict(sd), {"model.": "m."}, filter_keys=True)) == {"m.x", "m.y"}
    assert set(utils.state_dict_prefix_replace(dict(sd), {"model.": ""})) == {"x", "y", "other"}
    assert utils.repeat_to_batch_size(torch.arange(2), 5).tolist() == [0, 1, 0, 1, 0]
    assert utils.repeat_to_batch_size(torch.arange(4), 3).tolist() == [0, 1, 2]
    layer = torch.nn.Sequential(torch.nn.Linear(2, 2))
    storage = layer[0].bias.data_ptr()
    utils.copy_to_param(layer, "0.bias", torch.tensor([1.0, 2.0]))
    assert layer[0].bias.tolist() == [1.0, 2.0] and layer[0].bias.data_ptr() == storage
    previous = utils.set_attr(layer, "0.bias", torch.nn.Parameter(torch.zeros(2)))
    assert previous.tolist() == [1.0, 2.0] and utils.get_attr(layer, "0.bias").tolist() == [0.0, 0.0]


def test_progress_bar_reports_to_its_node_with_previews_and_hooks():
    calls = []
    context = NodeContext(node_id="4", prompt_id="p", on_progress=lambda *args: calls.append(args))
    utils.ProgressBar(3).update(1)  # outside a node: nothing to report to
    with node_running(context):
        bar = utils.ProgressBar(3)
    bar.update(2)
    bar.update_absolute(9, 10, ("JPEG", Image.new("RGB", (600, 300)), 512))
    assert [c[:3] for c in calls] == [("4", 2, 3), ("4", 9, 10)]
    preview = calls[1][3]
    assert isinstance(preview, PreviewImage) and Image.open(io.BytesIO(preview.data)).size == (512, 256)
    seen = []
    utils.set_progress_bar_global_hook(lambda value, total, preview, node_id=None: seen.append((value, total, node_id)))
    try:
        bar.update(1)
    finally:
        utils.set_progress_bar_global_hook(None)
    assert seen == [(10, 10, "4")] and len(calls) == 2
