"""The KL autoencoder (VAE) of Stable Diffusion, with parameter names mirroring the checkpoint.

`first_stage_model.*` tensors (or a standalone VAE file's keys) load into `AutoencoderKL`
unchanged. `vae_config_from_state_dict` infers the configuration from shapes. `encode`
maps pixels in -1..1 ([B,3,H,W]) to the mean of the latent distribution (unscaled);
`decode` maps latents back to pixels in about -1..1. Tiled variants live in `vae_tiling`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn


class VAEConfigError(ValueError):
    """The tensors do not form a VAE in the latent-diffusion layout."""


@dataclass(frozen=True)
class VAEConfig:
    """Shape of an AutoencoderKL: base width `ch`, per-level multipliers, latent channels."""

    ch: int = 128
    ch_mult: tuple[int, ...] = (1, 2, 4, 4)
    num_res_blocks: int = 2
    in_channels: int = 3
    out_channels: int = 3
    z_channels: int = 4
    embed_dim: int = 4

    @property
    def downscale(self) -> int:
        return 2 ** (len(self.ch_mult) - 1)

    def to_dict(self) -> dict:
        return asdict(self)

    @staticmethod
    def preset(size: str = "full") -> VAEConfig:
        """The SD VAE ("full", 83.7 M parameters) or a tiny one with the same structure."""
        if size == "full":
            return VAEConfig()
        if size == "tiny":
            return VAEConfig(ch=32, ch_mult=(1, 2, 2, 2), num_res_blocks=1)
        raise ValueError(f"unknown size {size!r}; expected tiny or full")


def _norm(channels: int) -> nn.GroupNorm:
    return nn.GroupNorm(32, channels, eps=1e-6)


class ResnetBlock(nn.Module):
    """Two normalised 3x3 convolutions with a residual (1x1 `nin_shortcut` when widths differ)."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.norm1 = _norm(in_channels)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.norm2 = _norm(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)
        if in_channels != out_channels:
            self.nin_shortcut = nn.Conv2d(in_channels, out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = self.conv2(F.silu(self.norm2(h)))
        if hasattr(self, "nin_shortcut"):
            x = self.nin_shortcut(x)
        return x + h


class AttnBlock(nn.Module):
    """Single-head self-attention over all pixels (1x1 convolutions `q`, `k`, `v`, `proj_out`)."""

    def __init__(self, channels: int):
        super().__init__()
        self.norm = _norm(channels)
        self.q = nn.Conv2d(channels, channels, 1)
        self.k = nn.Conv2d(channels, channels, 1)
        self.v = nn.Conv2d(channels, channels, 1)
        self.proj_out = nn.Conv2d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, channels, height, width = x.shape
        h = self.norm(x)
        q, k, v = (t.reshape(batch, 1, channels, height * width).transpose(2, 3) for t in (self.q(h), self.k(h), self.v(h)))
        out = F.scaled_dot_product_attention(q, k, v)
        out = out.transpose(2, 3).reshape(batch, channels, height, width)
        return x + self.proj_out(out)


class Downsample(nn.Module):
    """Stride-2 3x3 convolution after padding right and bottom by one (as the original)."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, stride=2, padding=0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.pad(x, (0, 1, 0, 1)))


class Upsample(nn.Module):
    """Nearest 2x upsampling then a 3x3 convolution."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


def _mid_block(channels: int) -> nn.Module:
    mid = nn.Module()
    mid.block_1 = ResnetBlock(channels, channels)
    mid.attn_1 = AttnBlock(channels)
    mid.block_2 = ResnetBlock(channels, channels)
    return mid


def _run_mid(mid: nn.Module, h: torch.Tensor) -> torch.Tensor:
    return mid.block_2(mid.attn_1(mid.block_1(h)))


class Encoder(nn.Module):
    """Pixels -> 2*z_channels moments (mean and log-variance)."""

    def __init__(self, config: VAEConfig):
        super().__init__()
        ch = config.ch
        self.conv_in = nn.Conv2d(config.in_channels, ch, 3, padding=1)
        self.down = nn.ModuleList()
        block_in = ch
        for level, mult in enumerate(config.ch_mult):
            stage = nn.Module()
            stage.block = nn.ModuleList()
            for _ in range(config.num_res_blocks):
                stage.block.append(ResnetBlock(block_in, ch * mult))
                block_in = ch * mult
            stage.attn = nn.ModuleList()
            if level != len(config.ch_mult) - 1:
                stage.downsample = Downsample(block_in)
            self.down.append(stage)
        self.mid = _mid_block(block_in)
        self.norm_out = _norm(block_in)
        self.conv_out = nn.Conv2d(block_in, 2 * config.z_channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv_in(x)
        for stage in self.down:
            for block in stage.block:
                h = block(h)
            if hasattr(stage, "downsample"):
                h = stage.downsample(h)
        h = _run_mid(self.mid, h)
        return self.conv_out(F.silu(self.norm_out(h)))


class Decoder(nn.Module):
    """z_channels latents -> pixels."""

    def __init__(self, config: VAEConfig):
        super().__init__()
        ch = config.ch
        block_in = ch * config.ch_mult[-1]
        self.conv_in = nn.Conv2d(config.z_channels, block_in, 3, padding=1)
        self.mid = _mid_block(block_in)
        stages: list[nn.Module] = []
        for level in reversed(range(len(config.ch_mult))):
            stage = nn.Module()
            stage.block = nn.ModuleList()
            for _ in range(config.num_res_blocks + 1):
                stage.block.append(ResnetBlock(block_in, ch * config.ch_mult[level]))
                block_in = ch * config.ch_mult[level]
            stage.attn = nn.ModuleList()
            if level != 0:
                stage.upsample = Upsample(block_in)
            stages.insert(0, stage)
        self.up = nn.ModuleList(stages)
        self.norm_out = _norm(block_in)
        self.conv_out = nn.Conv2d(block_in, config.out_channels, 3, padding=1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = _run_mid(self.mid, self.conv_in(z))
        for stage in reversed(self.up):
            for block in stage.block:
                h = block(h)
            if hasattr(stage, "upsample"):
                h = stage.upsample(h)
        return self.conv_out(F.silu(self.norm_out(h)))


class AutoencoderKL(nn.Module):
    """Encoder, decoder and the 1x1 `quant_conv` / `post_quant_conv` between them and the latent."""

    def __init__(self, config: VAEConfig):
        super().__init__()
        self.config = config
        self.encoder = Encoder(config)
        self.decoder = Decoder(config)
        self.quant_conv = nn.Conv2d(2 * config.z_channels, 2 * config.embed_dim, 1)
        self.post_quant_conv = nn.Conv2d(config.embed_dim, config.z_channels, 1)

    @property
    def dtype(self) -> torch.dtype:
        return self.encoder.conv_in.weight.dtype

    def encode(self, pixels: torch.Tensor) -> torch.Tensor:
        """Pixels [B,3,H,W] in -1..1 -> latent mean [B,embed_dim,H/8,W/8] (unscaled)."""
        moments = self.quant_conv(self.encoder(pixels.to(self.dtype)))
        mean, _logvar = moments.chunk(2, dim=1)
        return mean

    def decode(self, latent: torch.Tensor) -> torch.Tensor:
        """Latents [B,embed_dim,h,w] -> pixels [B,3,8h,8w], about -1..1 (not clamped)."""
        return self.decoder(self.post_quant_conv(latent.to(self.dtype)))


_ENCODER_BLOCK = re.compile(r"^encoder\.down\.(\d+)\.block\.(\d+)\.")


def _shape(sd: Mapping, key: str) -> tuple[int, ...]:
    shape_of = getattr(sd, "shape", None)
    return tuple(shape_of(key)) if callable(shape_of) else tuple(sd[key].shape)


def vae_config_from_state_dict(sd: Mapping, prefix: str = "") -> VAEConfig:
    """Infer a VAEConfig from a VAE state dict in the original layout (keys under `prefix`)."""
    keys = {k[len(prefix):] for k in sd if k.startswith(prefix)}
    for needed in ("encoder.conv_in.weight", "decoder.conv_in.weight", "decoder.conv_out.weight"):
        if needed not in keys:
            raise VAEConfigError(f"no VAE in the original layout: missing {prefix}{needed}")
    ch, in_channels = _shape(sd, prefix + "encoder.conv_in.weight")[:2]
    blocks: dict[int, int] = {}
    for key in keys:
        match = _ENCODER_BLOCK.match(key)
        if match:
            level, block = int(match.group(1)), int(match.group(2))
            blocks[level] = max(blocks.get(level, 0), block + 1)
    if not blocks or sorted(blocks) != list(range(len(blocks))):
        raise VAEConfigError("VAE encoder levels are missing or not numbered 0..n")
    ch_mult = tuple(_shape(sd, f"{prefix}encoder.down.{level}.block.0.conv1.weight")[0] // ch for level in sorted(blocks))
    z_channels = _shape(sd, prefix + "decoder.conv_in.weight")[1]
    embed_dim = _shape(sd, prefix + "post_quant_conv.weight")[1] if "post_quant_conv.weight" in keys else z_channels
    return VAEConfig(
        ch=ch,
        ch_mult=ch_mult,
        num_res_blocks=blocks[0],
        in_channels=in_channels,
        out_channels=_shape(sd, prefix + "decoder.conv_out.weight")[0],
        z_channels=z_channels,
        embed_dim=embed_dim,
    )
