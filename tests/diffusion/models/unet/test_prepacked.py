"""Prepacked layers (PackedConv2d, PackedLinear): the fast CPU paths give the plain paths' numbers."""

import copy
import pickle

import pytest
import torch
import torch.nn.functional as F

import diffusion.models.unet.prepacked as prepacked
from diffusion.models.unet.blocks import WideInputConv2d
from diffusion.models.unet.config import UNetConfig
from diffusion.models.unet.prepacked import (
    PackedConv2d,
    PackedLinear,
    enable_weight_packing,
    packed_bytes,
    release_packed_weights,
)
from diffusion.models.unet.unet import UNetModel

pytestmark = pytest.mark.skipif(not prepacked.packing_available(), reason="this torch build has no oneDNN packing")


def _packing(layer):
    enable_weight_packing(layer)
    return layer


def _unet_inputs(model: UNetModel):
    torch.manual_seed(0)
    context = torch.randn(2, 7, model.config.context_dim)
    return torch.randn(2, model.config.in_channels, 16, 16), torch.tensor([10.0, 700.0]), context


@pytest.mark.parametrize("stride, padding, kernel", [(1, 1, 3), (2, 1, 3), (1, 0, 1)])
def test_packed_conv_matches_plain_conv_in_fp32_and_channels_last_bf16(stride, padding, kernel):
    torch.manual_seed(0)
    conv = _packing(PackedConv2d(8, 16, kernel, stride=stride, padding=padding).eval())
    x = torch.randn(2, 8, 9, 9)
    with torch.no_grad():
        assert conv._packed is None
        out = conv(x)
        assert conv._packed is not None  # fp32 runs packed from the first call on
        plain = F.conv2d(x, conv.weight, conv.bias, stride, padding)
        torch.testing.assert_close(out, plain, rtol=1e-5, atol=1e-5)  # accumulation order only
        assert torch.equal(conv(x), out)  # and every later call gives the first call's bits
    conv = conv.to(torch.bfloat16).to(memory_format=torch.channels_last)  # as models are cast: not in inference mode
    assert conv._packed is None  # the cast dropped the fp32 copy
    with torch.inference_mode():
        xb = x.bfloat16().to(memory_format=torch.channels_last)
        out = conv(xb)
        assert conv._packed is not None
        assert out.dtype == torch.bfloat16 and out.is_contiguous(memory_format=torch.channels_last)
        assert torch.equal(out, F.conv2d(xb, conv.weight, conv.bias, stride, padding))  # bf16: the same bits


def test_a_layer_packs_only_once_enabled_and_disabling_drops_the_copy():
    conv = PackedConv2d(4, 4, 3, padding=1).eval()
    x = torch.randn(1, 4, 8, 8)
    with torch.no_grad():
        assert torch.equal(conv(x), F.conv2d(x, conv.weight, conv.bias, 1, 1)) and conv._packed is None
        assert enable_weight_packing(conv) == 1
        conv(x)
        assert packed_bytes(conv) == conv.weight.numel() * 4
        enable_weight_packing(conv, False)
        assert conv._packed is None and packed_bytes(conv) == 0
        assert torch.equal(conv(x), F.conv2d(x, conv.weight, conv.bias, 1, 1))


def test_weight_edits_swaps_and_new_shapes_repack():
    conv = _packing(PackedConv2d(4, 4, 3, padding=1).eval().to(torch.bfloat16))
    x = torch.randn(1, 4, 8, 8, dtype=torch.bfloat16)

    def check(inputs):
        for _ in range(2):
            expected = F.conv2d(inputs, conv.weight, conv.bias, 1, 1)
            torch.testing.assert_close(conv(inputs), expected, rtol=1e-5, atol=1e-5)
        assert conv._packed is not None

    with torch.no_grad():
        check(x)
        conv.weight.mul_(2.0)  # in place: same storage, new version
        check(x)
        conv.weight = torch.nn.Parameter(torch.randn_like(conv.weight), requires_grad=False)  # a LoRA-style swap
        check(x)
        check(torch.randn(3, 4, 12, 10, dtype=torch.bfloat16))
    assert release_packed_weights(conv) == 1 and conv._packed is None


def test_a_used_layer_deep_copies_and_pickles_without_its_packed_copy():
    conv = _packing(PackedConv2d(4, 4, 3, padding=1).eval().to(torch.bfloat16))
    x = torch.randn(1, 4, 8, 8, dtype=torch.bfloat16)
    with torch.no_grad():
        conv(x)
        expected = conv(x)
        twin = copy.deepcopy(conv)
        thawed = pickle.loads(pickle.dumps(conv))
        assert conv._packed is not None and twin._packed is None and thawed._packed is None
        assert twin.packing and thawed.packing  # still enabled: the copy is remade on use
        torch.testing.assert_close(twin(x), expected)
        torch.testing.assert_close(thawed(x), expected)


def test_training_with_autograd_takes_the_plain_path_and_gets_gradients():
    conv = _packing(PackedConv2d(4, 4, 3, padding=1))
    conv(torch.randn(1, 4, 8, 8)).sum().backward()
    assert conv._packed is None and conv.weight.grad is not None


def _plain_then_packed(model: UNetModel) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The model's output unpacked, then twice with packing enabled (as a loader enables it)."""
    x, t, context = _unet_inputs(model)
    with torch.inference_mode():
        plain = model(x, t, context)
        assert not any(m._packed is not None for m in model.modules() if isinstance(m, PackedConv2d))
        enable_weight_packing(model)
        first = model(x, t, context)
        # all but a bf16 model's out-head conv, which computes in its fp32 input's dtype (blocks.WideInputConv2d)
        assert all(m._packed is not None for m in model.modules() if isinstance(m, PackedConv2d)
                   and not (isinstance(m, WideInputConv2d) and m.weight.dtype == torch.bfloat16))
        return plain, first, model(x, t, context)


def test_tiny_unet_fp32_packed_is_close_to_plain_and_the_same_on_every_call():
    model = UNetModel(UNetConfig.preset("sd15", "tiny")).eval()
    plain, first, again = _plain_then_packed(model)
    assert torch.equal(again, first)  # no history: the first packed call is like every later one
    torch.testing.assert_close(first, plain, rtol=1e-4, atol=1e-5)
    assert packed_bytes(model) > 0


def test_tiny_unet_bf16_channels_last_packs_and_gives_the_plain_paths_bits():
    model = UNetModel(UNetConfig.preset("sd15", "tiny")).eval().to(torch.bfloat16)
    model = model.to(memory_format=torch.channels_last)
    plain, first, again = _plain_then_packed(model)
    assert torch.equal(first, plain) and torch.equal(again, plain)


def test_packed_linear_matches_plain_linear_in_bf16_and_leaves_fp32_plain():
    torch.manual_seed(0)
    layer = _packing(PackedLinear(16, 128).eval())
    x = torch.randn(2, 5, 16)
    with torch.inference_mode():
        out = layer(x)
        assert layer._packed is None  # fp32 linears stay on the plain path
        torch.testing.assert_close(out, F.linear(x, layer.weight, layer.bias))
    layer = layer.to(torch.bfloat16)
    xb = x.bfloat16()
    with torch.inference_mode():
        layer(xb)
        out = layer(xb)
        assert layer._packed is not None and out.shape == (2, 5, 128) and out.dtype == torch.bfloat16
        torch.testing.assert_close(out, F.linear(xb, layer.weight, layer.bias), rtol=2e-2, atol=2e-2)
        layer.weight.add_(1.0)
        torch.testing.assert_close(layer(xb), F.linear(xb, layer.weight, layer.bias), rtol=2e-2, atol=2e-2)


def test_weights_made_under_inference_mode_take_the_plain_path():
    conv = _packing(PackedConv2d(4, 4, 3, padding=1))
    x = torch.randn(1, 4, 8, 8, dtype=torch.bfloat16)
    with torch.inference_mode():
        conv = conv.double().bfloat16()  # inference-tensor weights: in-place edits would be invisible to a cache
        assert conv.weight.is_inference()
        first = conv(x)
        conv.weight.add_(1.0)
        second = conv(x)
        assert conv._packed is None and not torch.equal(first, second)
        torch.testing.assert_close(second, F.conv2d(x, conv.weight, conv.bias, 1, 1))


def test_a_weight_made_anew_for_every_call_runs_packed_but_is_not_kept():
    """As ModelComputeDtype's per-forward casts do: keeping each copy would cost memory for nothing."""
    conv = _packing(PackedConv2d(4, 4, 3, padding=1).to(torch.bfloat16))
    x = torch.randn(1, 4, 8, 8, dtype=torch.bfloat16)
    weights = [torch.randn(4, 4, 3, 3, dtype=torch.bfloat16) for _ in range(4)]
    with torch.no_grad():
        for index, weight in enumerate(weights):
            conv.weight = torch.nn.Parameter(weight, requires_grad=False)
            assert torch.equal(conv(x), F.conv2d(x, weight, conv.bias, 1, 1))
            assert (conv._packed is not None) == (index == 0)  # the first copy, replaced unused, was the last
        conv(x)  # a weight used twice is kept again
        assert conv._packed is not None
        assert torch.equal(conv(x), F.conv2d(x, weights[-1], conv.bias, 1, 1))


def test_fp32_results_do_not_depend_on_whether_a_copy_was_kept():
    """A churning fp32 weight (not kept) and a steady one (kept) give the same bits for the same weight."""
    torch.manual_seed(1)
    steady = _packing(PackedConv2d(4, 6, 3, padding=1).eval())
    churning = _packing(PackedConv2d(4, 6, 3, padding=1).eval())
    x = torch.randn(2, 4, 8, 8)
    with torch.no_grad():
        churning.weight = torch.nn.Parameter(torch.randn_like(churning.weight), requires_grad=False)
        churning(x)
        churning.weight = torch.nn.Parameter(steady.weight.clone(), requires_grad=False)
        churning.bias = steady.bias
        churned = churning(x)
        assert churning._churning and churning._packed is None
        steady(x)
        assert torch.equal(churned, steady(x))


def test_moving_or_casting_a_layer_drops_its_packed_copy():
    """The packed entry pins the plain weight it was made from: .to() must not keep the old one alive."""
    conv = _packing(PackedConv2d(4, 4, 3, padding=1).eval().to(torch.bfloat16))
    with torch.no_grad():
        conv(torch.randn(1, 4, 8, 8, dtype=torch.bfloat16))
        assert conv._packed is not None
        conv.to(torch.float32)
        assert conv._packed is None
        x = torch.randn(1, 4, 8, 8)
        torch.testing.assert_close(conv(x), F.conv2d(x, conv.weight, conv.bias, 1, 1), rtol=1e-5, atol=1e-5)


def test_a_compiled_model_traces_the_plain_path_without_graph_breaks():
    """TorchCompileModel: torch.compile packs weights its own way; the layer's cache must stay out of the trace."""
    conv = _packing(PackedConv2d(4, 4, 3, padding=1).eval())
    compiled = torch.compile(conv, backend="eager", fullgraph=True)
    x = torch.randn(1, 4, 8, 8)
    with torch.no_grad():
        out = compiled(x)
    assert conv._packed is None and torch.equal(out, F.conv2d(x, conv.weight, conv.bias, 1, 1))
