"""The sampler step callback picks TAESD previews from models/vae_approx/ for auto/taesd, else latent2rgb."""

from __future__ import annotations

import io
import types

import pytest
import torch
from PIL import Image

from diffusion.checkpoints.weight_kinds import write_kind
from diffusion.models.latent_formats import SD15_FORMAT
from graph.context import NodeContext
from nodes.library.sampling.ksampler import step_callback


class Frames:
    def __init__(self) -> None:
        self.sizes: list[tuple[int, int] | None] = []

    def __call__(self, node_id, value, total, preview) -> None:
        self.sizes.append(None if preview is None else Image.open(io.BytesIO(preview.data)).size)


def one_step(runtime, method: str) -> tuple[int, int] | None:
    frames = Frames()
    ctx = NodeContext(node_id="3", prompt_id="p", runtime=runtime, extra_data={"preview_method": method},
                      on_progress=frames)
    model = types.SimpleNamespace(model_info=types.SimpleNamespace(latent_format=SD15_FORMAT))
    step_callback(ctx, model, 2)(0, torch.randn(1, 4, 6, 5), torch.zeros(1, 4, 6, 5), 2)
    return frames.sizes[0]


@pytest.mark.parametrize("method, size", [("auto", (40, 48)), ("taesd", (40, 48)), ("latent2rgb", (5, 6)),
                                          ("none", None)])
def test_preview_size_tells_which_decoder_ran(runtime, method, size):
    write_kind("taesd", str(runtime.folders.models_dir / "vae_approx" / "taesd_decoder.safetensors"), family=None,
               size="full", seed=0, dtype=torch.float16)
    assert one_step(runtime, method) == size


def test_without_the_file_taesd_falls_back_to_latent2rgb(runtime):
    assert one_step(runtime, "taesd") == (5, 6)
