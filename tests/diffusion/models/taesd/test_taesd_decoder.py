"""TAESD decoder: the released key layout, shapes, one Block by hand, and the preview choice."""

from __future__ import annotations

import types

import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import load_file

from diffusion.checkpoints.weight_kinds import recognise, write_kind
from diffusion.models.taesd.files import random_decoder_tensors
from diffusion.models.taesd.model import Block, TaesdError, decoder, decoder_from_state_dict
from diffusion.sampling import previews

SD = types.SimpleNamespace(taesd_decoder_name="taesd_decoder", rgb_factors=((1, 0, 0), (0, 1, 0), (0, 0, 1), (0, 0, 0)))


def test_key_layout_is_the_released_one():
    keys = set(decoder(4).state_dict())
    assert {"1.weight", "1.bias", "3.conv.0.weight", "3.conv.4.bias", "7.weight", "12.weight", "17.weight",
            "18.conv.2.weight", "19.weight", "19.bias"} <= keys
    assert "7.bias" not in keys and not any(".skip." in k for k in keys)
    assert len(keys) == 1 + 1 + 10 * 6 + 3 + 1 + 1  # conv1 (w, b), 10 blocks x 3 convs x (w, b), 3 up-convs, last
    assert sum(v.numel() for v in decoder(4).state_dict().values()) == 1_222_531  # 4.9 MB in fp32, as the released file


@pytest.mark.parametrize("kind", ["taesd", "taesdxl"])
def test_written_file_loads_by_key_and_decodes_8x(tmp_path, kind):
    path = tmp_path / f"{kind}_decoder.safetensors"
    write_kind(kind, str(path), family=None, size="full", seed=2, dtype=torch.float16)
    sd = load_file(path)
    model = decoder_from_state_dict(sd)
    assert recognise(sd)["kind"] == "taesd"
    out = model(torch.randn(1, 4, 5, 7))
    assert out.shape == (1, 3, 40, 56)


def test_one_block_by_hand():
    torch.manual_seed(0)
    block = Block(64, 64)
    x = torch.randn(1, 64, 6, 6)
    c0, c2, c4 = block.conv[0], block.conv[2], block.conv[4]
    h = F.relu(F.conv2d(x, c0.weight, c0.bias, padding=1))
    h = F.relu(F.conv2d(h, c2.weight, c2.bias, padding=1))
    h = F.conv2d(h, c4.weight, c4.bias, padding=1)
    torch.testing.assert_close(block(x), F.relu(h + x))


def test_the_clamp_and_first_layers_by_hand():
    model = decoder_from_state_dict(random_decoder_tensors(seed=1))
    x = torch.randn(1, 4, 3, 3) * 10
    first = F.relu(F.conv2d(torch.tanh(x / 3) * 3, model[1].weight, model[1].bias, padding=1))
    torch.testing.assert_close(model[:3](x), first)


def test_not_a_decoder_says_what_was_expected():
    with pytest.raises(TaesdError, match="not a TAESD decoder"):
        decoder_from_state_dict({"foo": torch.zeros(1)}, name="x.safetensors")
    bad = random_decoder_tensors()
    bad.pop("18.conv.2.weight")
    with pytest.raises(TaesdError, match="x.safetensors: not a TAESD decoder"):
        decoder_from_state_dict(bad, name="x.safetensors")


def test_preview_choice_follows_the_method_and_the_file(tmp_path):
    assert previews.taesd_decoder_path(SD, [tmp_path]) is None
    write_kind("taesd", str(tmp_path / "taesd_decoder.safetensors"), family=None, size="full", seed=0,
               dtype=torch.float32)
    path = previews.taesd_decoder_path(SD, [tmp_path])
    assert path == tmp_path / "taesd_decoder.safetensors"
    assert previews.taesd_decoder_path(types.SimpleNamespace(taesd_decoder_name="taesdxl_decoder"), [tmp_path]) is None
    dec = previews.load_taesd_decoder(path)
    x0 = torch.randn(2, 4, 4, 4)
    taesd = previews.preview_function("taesd", SD, dec)(x0)
    assert taesd.shape == (32, 32, 3) and taesd.dtype.name == "uint8"
    expected = dec(x0[:1])[0].clamp(0, 1).mul(255).to(torch.uint8).movedim(0, -1).numpy()
    assert (taesd == expected).all()
    assert previews.preview_function("auto", SD, dec)(x0).shape == (32, 32, 3)
    assert previews.preview_function("latent2rgb", SD, dec)(x0).shape == (4, 4, 3)
    assert previews.preview_function("taesd", SD, None)(x0).shape == (4, 4, 3)  # no file: latent2rgb
    assert previews.preview_function("none", SD, dec) is None
