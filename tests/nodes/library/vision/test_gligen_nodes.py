"""GLIGENLoader / GLIGENTextBoxApply: the boxes ComfyUI stores, in latent pixels, appended per entry."""

from __future__ import annotations

import pytest
import torch

from diffusion.checkpoints.weight_kinds import write_kind
from nodes.library.vision.gligen_nodes import GLIGENLoader, GLIGENTextBoxApply
from tests.nodes.sd_fakes import values


class FakeClip:
    def __init__(self, width: int = 64):
        self.width = width

    def patchers(self):
        return []

    def encode(self, text):
        return torch.zeros(1, 77, self.width), torch.full((1, self.width), float(len(text)))


@pytest.fixture
def ctx(make_ctx):
    return make_ctx()


@pytest.fixture
def model(ctx, runtime):
    folder = runtime.folders.model_paths("gligen")[0]
    write_kind("gligen", str(folder / "g.safetensors"), family=None, size="tiny", seed=0, dtype=torch.float16)
    (model,) = values(GLIGENLoader, ctx, gligen_name="g.safetensors")
    return model


def test_boxes_are_appended_in_latent_pixels(ctx, model):
    cond = [[torch.zeros(1, 77, 64), {"pooled_output": torch.zeros(1, 64)}]]
    (one,) = values(GLIGENTextBoxApply, ctx, conditioning_to=cond, clip=FakeClip(), gligen_textbox_model=model,
                    text="sun", width=176, height=272, x=192, y=304)
    (two,) = values(GLIGENTextBoxApply, ctx, conditioning_to=one, clip=FakeClip(), gligen_textbox_model=model,
                    text="bottle", width=64, height=64, x=0, y=8)
    kind, held, boxes = two[0][1]["gligen"]
    assert kind == "position" and held is model and "gligen" not in cond[0][1]
    assert [b[1:] for b in boxes] == [(34, 22, 38, 24), (8, 8, 1, 0)]
    assert float(boxes[0][0][0, 0]) == 3.0 and float(boxes[1][0][0, 0]) == 6.0


def test_a_clip_of_another_width_is_a_clear_error(ctx, model):
    with pytest.raises(ValueError, match="takes 64-wide text embeddings; the CLIP gives a 768-wide"):
        values(GLIGENTextBoxApply, ctx, conditioning_to=[[torch.zeros(1, 77, 768), {}]], clip=FakeClip(768),
               gligen_textbox_model=model, text="x", width=64, height=64, x=0, y=0)
    with pytest.raises(TypeError, match="must be a GLIGEN"):
        values(GLIGENTextBoxApply, ctx, conditioning_to=[[torch.zeros(1, 77, 64), {}]], clip=FakeClip(),
               gligen_textbox_model="nope", text="x", width=64, height=64, x=0, y=0)


def test_the_model_is_loaded_in_the_unets_precision(runtime, model):
    """Cast once at load (fp16 on a GPU, bf16 on a CPU with native bf16), never again at sampling time."""
    assert {p.dtype for p in model.parameters()} == {runtime.models.choice.unet_dtype}
