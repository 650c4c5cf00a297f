"""GLIGEN: the fuser against a reference built from torch's MultiheadAttention, boxes in closed form, identity
with closed gates, and clear errors."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from diffusion.models.gligen.boxes import box_inputs, gligen_hooks
from diffusion.models.gligen.gligen import MAX_OBJECTS, Gligen, GligenError, fourier_features
from diffusion.models.gligen.make_gligen import random_tensors


@pytest.fixture(scope="module")
def model():
    return Gligen.from_state_dict(random_tensors("tiny", seed=1))


def reference_fuser(fuser, x, objs):
    dim = x.shape[-1]
    attn = nn.MultiheadAttention(dim, fuser.attn.heads, bias=False, batch_first=True)
    attn.in_proj_weight.data = torch.cat([fuser.attn.to_q.weight, fuser.attn.to_k.weight, fuser.attn.to_v.weight])
    attn.out_proj = fuser.attn.to_out[0]
    objs = objs @ fuser.linear.weight.T + fuser.linear.bias
    h = nn.functional.layer_norm(torch.cat([x, objs], 1), (dim,), fuser.norm1.weight, fuser.norm1.bias)
    x = x + torch.tanh(fuser.alpha_attn) * attn(h, h, h, need_weights=False)[0][:, :x.shape[1]]
    h = nn.functional.layer_norm(x, (dim,), fuser.norm2.weight, fuser.norm2.bias)
    value, gate = fuser.ff.net[0].proj(h).chunk(2, -1)
    return x + torch.tanh(fuser.alpha_dense) * fuser.ff.net[2](value * nn.functional.gelu(gate))


def test_the_fusers_follow_the_unet_blocks(model):
    blocks = [where for where, _ in model.keys]
    assert ("input", 1) in blocks and ("middle", 0) in blocks and ("output", 5) in blocks
    assert model.key_dim == 64


def test_a_box_through_the_patch_matches_the_reference(model):
    embedding = torch.randn(1, 64, generator=torch.Generator().manual_seed(3))
    spec = ("position", model, [(embedding, 4, 2, 1, 3)])
    (patch,) = gligen_hooks(spec, (2, 4, 8, 8)).middle_patch
    x = torch.randn(2, 64, 32, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        got = patch(x, {"block": ("input", 1), "block_index": 0})
        objs = model.position_net(*box_inputs(model, (2, 4, 8, 8), spec[2]))
        torch.testing.assert_close(got, reference_fuser(model.fuser(("input", 1), 0), x, objs), atol=1e-5, rtol=1e-5)
    assert not torch.allclose(got, x)
    # a block without a fuser is left alone
    assert patch(x, {"block": ("input", 2), "block_index": 0}) is x


def test_boxes_are_fractions_of_the_latent_and_padding_takes_the_null_features(model):
    boxes, masks, embeddings = box_inputs(model, (1, 4, 8, 16), [(torch.ones(1, 64), 4, 2, 1, 3)])
    torch.testing.assert_close(boxes[0, 0], torch.tensor([3 / 16, 1 / 8, 5 / 16, 5 / 8]))
    assert masks[0].tolist() == [1.0] + [0.0] * (MAX_OBJECTS - 1)
    with torch.no_grad():
        objs = model.position_net(boxes, masks, embeddings)
        null = torch.cat([model.position_net.null_positive_feature, model.position_net.null_position_feature])
        torch.testing.assert_close(objs[0, 5], model.position_net.linears(null))
        mine = torch.cat([torch.ones(64), fourier_features(boxes[0, 0])])
        torch.testing.assert_close(objs[0, 0], model.position_net.linears(mine))


def test_closed_gates_make_gligen_an_identity():
    sd = random_tensors("tiny", seed=1)
    sd = {k: torch.zeros(()) if k.endswith(("alpha_attn", "alpha_dense")) else v for k, v in sd.items()}
    closed = Gligen.from_state_dict(sd)
    (patch,) = gligen_hooks(("position", closed, [(torch.ones(1, 64), 2, 2, 0, 0)]), (1, 4, 8, 8)).middle_patch
    x = torch.randn(1, 64, 32)
    with torch.no_grad():
        assert torch.equal(patch(x, {"block": ("input", 1), "block_index": 0}), x)


def test_bad_input_is_refused_clearly(model):
    with pytest.raises(GligenError, match="g.safetensors: not a GLIGEN model"):
        Gligen.from_state_dict({"position_net.null_positive_feature": torch.zeros(4)}, "g.safetensors")
    with pytest.raises(GligenError, match="768 wide but the GLIGEN model takes 64"):
        box_inputs(model, (1, 4, 8, 8), [(torch.ones(1, 768), 1, 1, 0, 0)])
    with pytest.raises(GligenError, match="at most 30 boxes"):
        box_inputs(model, (1, 4, 8, 8), [(torch.ones(1, 64), 1, 1, 0, 0)] * 31)
