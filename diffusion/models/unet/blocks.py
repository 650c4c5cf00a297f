"""Building blocks of the latent-diffusion UNet, named after the original checkpoint keys.

ResBlock (`in_layers`, `emb_layers`, `out_layers`, `skip_connection`), Downsample (`op`),
Upsample (`conv`), SpatialTransformer (`norm`, `proj_in`, `transformer_blocks`, `proj_out`)
with BasicTransformerBlock (`attn1`, `attn2`, `ff.net`, `norm1..3`). Attention goes through
`torch.nn.functional.scaled_dot_product_attention`.

Mixed precision: the blocks take activations of a wider dtype than their weights (the bf16 CPU UNet
carries its activations in fp32, see `UNetModel.activation_dtype`). Convolutions and linears cast
their input to their weight's dtype (the matrix products stay bf16), norms compute in the input's
dtype, and the residual sums stay in the activations' dtype; with activations in the weights' dtype
(fp32, fp16, plain bf16) every cast is a no-op and the numbers are unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from diffusion.models.unet.hooks import TransformerHooks
from diffusion.models.unet.prepacked import PackedConv2d, PackedLinear


class GroupNorm32(nn.GroupNorm):
    """GroupNorm computed in float32 (as the original `GroupNorm32`), result in the input dtype."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.group_norm(
            x.float(), self.num_groups, self.weight.float() if self.weight is not None else None,
            self.bias.float() if self.bias is not None else None, self.eps,
        ).to(x.dtype)


def normalization(channels: int) -> nn.GroupNorm:
    return GroupNorm32(32, channels)


class InputDtypeGroupNorm(nn.GroupNorm):
    """GroupNorm computed in its input's dtype (weights cast to it): fp32 activations over bf16 weights."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.group_norm(x, self.num_groups, _cast(self.weight, x.dtype), _cast(self.bias, x.dtype), self.eps)


class InputDtypeLayerNorm(nn.LayerNorm):
    """LayerNorm computed in its input's dtype (weights cast to it): fp32 activations over bf16 weights."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.layer_norm(x, self.normalized_shape, _cast(self.weight, x.dtype), _cast(self.bias, x.dtype), self.eps)


class CastingLinear(nn.Linear):
    """nn.Linear taking input of any float dtype: cast to its weight's dtype (the product runs in it)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(_cast(x, self.weight.dtype))


class WideInputConv2d(PackedConv2d):
    """A small convolution computed in its input's dtype when that is wider than its weights (weights cast per
    call): the UNet's conv_in and out-head conv (4 latent channels, ~0.01% of the FLOPs each), whose rounding
    would show in every eps."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dtype == torch.float32 and self.weight.dtype != x.dtype:
            return self._conv_forward(x, self.weight.to(x.dtype), _cast(self.bias, x.dtype))
        return super().forward(x)


def _cast(tensor: torch.Tensor | None, dtype: torch.dtype) -> torch.Tensor | None:
    return tensor if tensor is None or tensor.dtype == dtype else tensor.to(dtype)


def timestep_embedding(timesteps: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """Sinusoidal embedding [cos | sin] of (possibly fractional) timesteps, shape [N, dim]."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32, device=timesteps.device) / half)
    args = timesteps[:, None].float() * freqs[None]
    embedding = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
    if dim % 2:
        embedding = torch.cat([embedding, torch.zeros_like(embedding[:, :1])], dim=-1)
    return embedding


class ResBlock(nn.Module):
    """Residual block conditioned on the time embedding (added after the first conv)."""

    def __init__(self, channels: int, emb_channels: int, out_channels: int):
        super().__init__()
        self.in_layers = nn.Sequential(normalization(channels), nn.SiLU(), PackedConv2d(channels, out_channels, 3, padding=1))
        self.emb_layers = nn.Sequential(nn.SiLU(), nn.Linear(emb_channels, out_channels))
        self.out_layers = nn.Sequential(
            normalization(out_channels), nn.SiLU(), nn.Dropout(0.0), PackedConv2d(out_channels, out_channels, 3, padding=1)
        )
        self.skip_connection = nn.Identity() if out_channels == channels else PackedConv2d(channels, out_channels, 1)

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.in_layers(x).to(x.dtype) + self.emb_layers(emb).to(x.dtype)[:, :, None, None]
        return self.skip_connection(x).to(x.dtype) + self.out_layers(h)  # the sum in the activations' dtype


class Downsample(nn.Module):
    """Strided 3x3 convolution halving height and width."""

    def __init__(self, channels: int):
        super().__init__()
        self.op = PackedConv2d(channels, channels, 3, stride=2, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


class Upsample(nn.Module):
    """Nearest-neighbour upsampling (to a given size or 2x) followed by a 3x3 convolution."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv = PackedConv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor, output_shape: tuple[int, int] | None = None) -> torch.Tensor:
        x = _cast(x, self.conv.weight.dtype)  # before the (exact) nearest upsampling: a quarter of the bytes
        if output_shape is not None:
            x = F.interpolate(x, size=output_shape, mode="nearest")
        else:
            x = F.interpolate(x, scale_factor=2.0, mode="nearest")
        return self.conv(x)


class CrossAttention(nn.Module):
    """Multi-head attention; self-attention when no context is given."""

    def __init__(self, query_dim: int, heads: int, dim_head: int, context_dim: int | None = None):
        super().__init__()
        inner_dim = heads * dim_head
        context_dim = context_dim or query_dim
        self.heads = heads
        self.to_q = CastingLinear(query_dim, inner_dim, bias=False)
        self.to_k = CastingLinear(context_dim, inner_dim, bias=False)
        self.to_v = CastingLinear(context_dim, inner_dim, bias=False)
        self.to_out = nn.Sequential(CastingLinear(inner_dim, query_dim), nn.Dropout(0.0))

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None,
                value: torch.Tensor | None = None) -> torch.Tensor:
        """Attention of x over `context` (keys; default x) and `value` (values; default the context)."""
        context = x if context is None else context.to(x.dtype)
        value = context if value is None else value.to(x.dtype)
        q, k, v = self.to_q(x), self.to_k(context), self.to_v(value)
        batch = x.shape[0]
        q, k, v = (t.reshape(batch, -1, self.heads, t.shape[-1] // self.heads).transpose(1, 2) for t in (q, k, v))
        out = F.scaled_dot_product_attention(q, k, v)
        out = out.transpose(1, 2).reshape(batch, -1, q.shape[1] * q.shape[-1])
        return self.to_out(out)


class GEGLU(nn.Module):
    """Gated GELU: one projection to twice the width, half gating the other."""

    def __init__(self, dim_in: int, dim_out: int):
        super().__init__()
        self.proj = PackedLinear(dim_in, dim_out * 2)  # wide: prepacking pays off (prepacked.py)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        value, gate = self.proj(x).chunk(2, dim=-1)
        return value * F.gelu(gate)


class FeedForward(nn.Module):
    """GEGLU feed-forward of 4x width (`net.0.proj`, `net.2`)."""

    def __init__(self, dim: int, mult: int = 4):
        super().__init__()
        inner = dim * mult
        self.net = nn.Sequential(GEGLU(dim, inner), nn.Dropout(0.0), CastingLinear(inner, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class BasicTransformerBlock(nn.Module):
    """Self-attention, cross-attention to the text context, feed-forward; pre-norm residuals."""

    def __init__(self, dim: int, heads: int, dim_head: int, context_dim: int | None):
        super().__init__()
        self.attn1 = CrossAttention(dim, heads, dim_head)
        self.ff = FeedForward(dim)
        self.attn2 = CrossAttention(dim, heads, dim_head, context_dim=context_dim)
        self.norm1 = InputDtypeLayerNorm(dim)
        self.norm2 = InputDtypeLayerNorm(dim)
        self.norm3 = InputDtypeLayerNorm(dim)

    def forward(self, x: torch.Tensor, context: torch.Tensor | None,
                hooks: TransformerHooks | None = None, info: dict | None = None) -> torch.Tensor:
        """`hooks` (optional) are the UNetHooks of this block (see `hooks.py` for what each does)."""
        if hooks is None:
            x = self.attn1(self.norm1(x)) + x
            x = self.attn2(self.norm2(x), context) + x
            return self.ff(self.norm3(x)) + x
        patches = hooks.hooks
        heads = self.attn1.heads
        info = hooks.info(**(info or {}), n_heads=heads, dim_head=self.attn1.to_q.out_features // heads)
        n = self.norm1(x)
        keys = values = None
        for patch in patches.attn1_patch:
            n, keys, values = patch(n, keys, values, info)
        out = _attend(self.attn1, n, keys, values, hooks.attn1_replace, info)
        for patch in patches.attn1_output_patch:
            out = patch(out, info)
        x = out + x
        for patch in patches.middle_patch:
            x = patch(x, info)
        n = self.norm2(x)
        keys, values = context, None
        for patch in patches.attn2_patch:
            n, keys, values = patch(n, keys, values, info)
        out = _attend(self.attn2, n, keys, values, hooks.attn2_replace, info)
        for patch in patches.attn2_output_patch:
            out = patch(out, info)
        x = out + x
        return self.ff(self.norm3(x)) + x


def _attend(attention: CrossAttention, n: torch.Tensor, keys: torch.Tensor | None, values: torch.Tensor | None,
            replace: Callable | None, info: dict) -> torch.Tensor:
    """The attention of `n` over keys/values (None: n / the keys), its core replaced by `replace` if given."""
    if replace is None:
        return attention(n, keys, values)
    keys = n if keys is None else keys.to(n.dtype)
    values = keys if values is None else values.to(n.dtype)
    return attention.to_out(replace(attention.to_q(n), attention.to_k(keys), attention.to_v(values), info))


class SpatialTransformer(nn.Module):
    """Transformer over the pixels of a feature map, with 1x1-conv or linear projections."""

    def __init__(self, channels: int, heads: int, dim_head: int, depth: int, context_dim: int | None, use_linear: bool):
        super().__init__()
        inner = heads * dim_head
        self.use_linear = use_linear
        self.norm = InputDtypeGroupNorm(32, channels, eps=1e-6)
        self.proj_in = CastingLinear(channels, inner) if use_linear else PackedConv2d(channels, inner, 1)
        self.transformer_blocks = nn.ModuleList(
            BasicTransformerBlock(inner, heads, dim_head, context_dim) for _ in range(depth)
        )
        self.proj_out = CastingLinear(inner, channels) if use_linear else PackedConv2d(inner, channels, 1)

    def forward(self, x: torch.Tensor, context: torch.Tensor | None,
                hooks: TransformerHooks | None = None) -> torch.Tensor:
        batch, _, height, width = x.shape
        original_shape = list(x.shape)
        residual = x
        x = self.norm(x)
        if not self.use_linear:
            x = self.proj_in(x)
        x = x.flatten(2).transpose(1, 2)
        if self.use_linear:
            x = self.proj_in(x)
        x = x.to(residual.dtype)  # the blocks' residual stream in the activations' dtype
        for index, block in enumerate(self.transformer_blocks):
            info = {"transformer_index": index, "block_index": index, "original_shape": original_shape}
            x = block(x, context, hooks, info)
        if self.use_linear:
            x = self.proj_out(x)
        x = x.transpose(1, 2).reshape(batch, -1, height, width)
        if not self.use_linear:
            x = self.proj_out(x)
        return x + residual


class TimestepEmbedSequential(nn.Sequential):
    """A sequence whose layers receive the time embedding or the context as they need."""

    def forward(self, x: torch.Tensor, emb: torch.Tensor, context: torch.Tensor | None = None,
                output_shape: tuple[int, int] | None = None, hooks: TransformerHooks | None = None) -> torch.Tensor:
        """The layers applied in turn; the result in `x`'s dtype (the activations' dtype, see the module docstring)."""
        dtype = x.dtype
        for layer in self:
            if isinstance(layer, ResBlock):
                x = layer(x, emb)
            elif isinstance(layer, SpatialTransformer):
                x = layer(x, context, hooks)
            elif isinstance(layer, Upsample):
                x = layer(x, output_shape)
            else:
                x = layer(x)
        return _cast(x, dtype)
