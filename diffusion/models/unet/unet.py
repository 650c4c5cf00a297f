"""The latent-diffusion UNet (SD1.x, SD2.x, SDXL) with parameter names mirroring the checkpoint.

A checkpoint's `model.diffusion_model.*` tensors load into `UNetModel` with only that prefix
stripped. `unet_config_from_state_dict` infers the whole configuration from tensor shapes,
so any UNet in this layout (full-size or tiny) loads without a table entry.

Attention heads cannot be read from shapes, so a convention decides them (as ComfyUI does):
conv projections (SD1 style) use 8 heads; linear projections (SD2, SDXL) use 64-channel
heads when `model_channels` is a multiple of 64, else 8-channel heads (tiny test models).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import torch
from torch import nn

from diffusion.models.unet.blocks import (
    Downsample,
    ResBlock,
    SpatialTransformer,
    TimestepEmbedSequential,
    Upsample,
    WideInputConv2d,
    normalization,
    timestep_embedding,
)
from diffusion.models.unet.config import UNetConfig, UNetConfigError
from diffusion.models.unet.hooks import UNetHooks, pop_control, working_control

__all__ = ["UNetConfig", "UNetConfigError", "UNetModel", "unet_config_from_state_dict"]


class UNetModel(nn.Module):
    """UNet predicting noise (or v) from a latent, timesteps, text context and SDXL's vector `y`."""

    def __init__(self, config: UNetConfig):
        super().__init__()
        self.config = config
        mc, ted = config.model_channels, config.time_embed_dim
        self.time_embed = nn.Sequential(nn.Linear(mc, ted), nn.SiLU(), nn.Linear(ted, ted))
        if config.adm_in_channels is not None:
            self.label_emb = nn.Sequential(
                nn.Sequential(nn.Linear(config.adm_in_channels, ted), nn.SiLU(), nn.Linear(ted, ted))
            )
        # conv_in and the out head: tiny convolutions (4 latent channels) computed in the activations' dtype
        self.input_blocks = nn.ModuleList([TimestepEmbedSequential(WideInputConv2d(config.in_channels, mc, 3, padding=1))])
        skip_channels = [mc]
        channels = mc
        depths = iter(config.transformer_depth)
        for level, mult in enumerate(config.channel_mult):
            for _ in range(config.num_res_blocks[level]):
                layers: list[nn.Module] = [ResBlock(channels, ted, mult * mc)]
                channels = mult * mc
                self._maybe_add_transformer(layers, channels, next(depths))
                self.input_blocks.append(TimestepEmbedSequential(*layers))
                skip_channels.append(channels)
            if level != len(config.channel_mult) - 1:
                self.input_blocks.append(TimestepEmbedSequential(Downsample(channels)))
                skip_channels.append(channels)
        middle: list[nn.Module] = [ResBlock(channels, ted, channels)]
        self._maybe_add_transformer(middle, channels, config.transformer_depth_middle)
        middle.append(ResBlock(channels, ted, channels))
        self.middle_block = TimestepEmbedSequential(*middle)
        self.output_blocks = nn.ModuleList()
        out_depths = iter(config.transformer_depth_output)
        for level, mult in reversed(list(enumerate(config.channel_mult))):
            for index in range(config.num_res_blocks[level] + 1):
                layers = [ResBlock(channels + skip_channels.pop(), ted, mc * mult)]
                channels = mc * mult
                self._maybe_add_transformer(layers, channels, next(out_depths))
                if level and index == config.num_res_blocks[level]:
                    layers.append(Upsample(channels))
                self.output_blocks.append(TimestepEmbedSequential(*layers))
        self.out = nn.Sequential(normalization(channels), nn.SiLU(), WideInputConv2d(mc, config.out_channels, 3, padding=1))

    def _maybe_add_transformer(self, layers: list[nn.Module], channels: int, depth: int) -> None:
        if depth > 0:
            heads, dim_head = self.config.heads_for(channels)
            layers.append(SpatialTransformer(
                channels, heads, dim_head, depth, self.config.context_dim, self.config.use_linear_in_transformer
            ))

    def forward(self, x: torch.Tensor, timesteps: torch.Tensor, context: torch.Tensor | None = None,
                y: torch.Tensor | None = None, hooks: UNetHooks | None = None) -> torch.Tensor:
        """Model output for latents `x` [B,C,H,W] at `timesteps` [B] (0..999, may be fractional).

        `hooks` (optional): patches and ControlNet residuals for this evaluation (`hooks.py`).
        """
        if (y is None) != (self.config.adm_in_channels is None):
            raise ValueError("y (the SDXL vector conditioning) is required exactly when the model has label_emb")
        dtype = self.input_blocks[0][0].weight.dtype
        emb = self.time_embed(timestep_embedding(timesteps, self.config.model_channels).to(dtype))
        if y is not None:
            emb = emb + self.label_emb(y.to(dtype))
        h = x.to(self.activation_dtype(self.input_blocks[0][0].weight))
        if hooks is None or hooks.is_empty():
            return self._plain(h, emb, context).to(x.dtype)
        control = working_control(hooks.control)
        skips = []
        for index, block in enumerate(self.input_blocks):
            where = ("input", index)
            h = block(h, emb, context, hooks=hooks.transformer(where))
            h = _add_residual(h, pop_control(control, "input"))
            info = {**hooks.info, "block": where, "activations_shape": list(h.shape)}
            for patch in hooks.input_block_patch:
                h = patch(h, info)
            skips.append(h)
            for patch in hooks.input_block_patch_after_skip:
                h = patch(h, info)
        h = self.middle_block(h, emb, context, hooks=hooks.transformer(("middle", 0)))
        h = _add_residual(h, pop_control(control, "middle"))
        for index, block in enumerate(self.output_blocks):
            where = ("output", index)
            skip = _add_residual(skips.pop(), pop_control(control, "output"))
            info = {**hooks.info, "block": where, "activations_shape": list(h.shape)}
            for patch in hooks.output_block_patch:
                h, skip = patch(h, skip, info)
            h = torch.cat([h, skip], dim=1)
            output_shape = tuple(skips[-1].shape[-2:]) if skips else None
            h = block(h, emb, context, output_shape, hooks=hooks.transformer(where))
        return self.out(h).to(x.dtype)

    @staticmethod
    def activation_dtype(weight: torch.Tensor) -> torch.dtype:
        """The dtype the activations between (and the residual sums inside) the blocks are carried in.

        The weights' dtype, except for bf16 weights on the CPU: there the activations stay fp32 and only the
        convolutions and linears run in bf16 (blocks.py casts their inputs). bf16's 8-bit mantissa rounds
        every block's output and residual sum otherwise. On the full-size SD1.5 UNet the fp32 stream raises
        bench/unet_precision.py's eps PSNR against the fp32 UNet from 53.1/53.8 to 54.7/55.9 dB (t=500/900,
        with conv_in and the out head in fp32, blocks.WideInputConv2d;
        the floor set by bf16 weights alone is ~59 dB) for no extra FLOPs: only the elementwise ops (norms,
        SiLU, residual sums, casts) move about twice the bytes, an estimated ~0.3 GB per 256 px CFG step,
        mostly cache-resident, against ~1.7 GB of weights read. GPUs keep bf16 activations (their
        elementwise ops are bandwidth-bound)."""
        if weight.dtype == torch.bfloat16 and weight.device.type == "cpu":
            return torch.float32
        return weight.dtype

    def _plain(self, h: torch.Tensor, emb: torch.Tensor, context: torch.Tensor | None) -> torch.Tensor:
        skips = []
        for block in self.input_blocks:
            h = block(h, emb, context)
            skips.append(h)
        h = self.middle_block(h, emb, context)
        for block in self.output_blocks:
            h = torch.cat([h, skips.pop()], dim=1)
            output_shape = tuple(skips[-1].shape[-2:]) if skips else None
            h = block(h, emb, context, output_shape)
        return self.out(h)


def _add_residual(h: torch.Tensor, residual: torch.Tensor | None) -> torch.Tensor:
    """h plus a ControlNet residual; a residual of another shape is an error naming both shapes."""
    if residual is None:
        return h
    if residual.shape != h.shape:
        raise ValueError(f"a ControlNet residual of shape {tuple(residual.shape)} cannot be added to UNet "
                         f"features of shape {tuple(h.shape)}: is the ControlNet made for another model family?")
    return h + residual.to(device=h.device, dtype=h.dtype)


_TRANSFORMER_KEY = re.compile(r"^(input_blocks|output_blocks)\.(\d+)\.1\.transformer_blocks\.(\d+)\.")
_MIDDLE_TRANSFORMER_KEY = re.compile(r"^middle_block\.1\.transformer_blocks\.(\d+)\.")


def _shape(sd: Mapping, key: str) -> tuple[int, ...]:
    shape_of = getattr(sd, "shape", None)
    if callable(shape_of):
        return tuple(shape_of(key))
    return tuple(sd[key].shape)


def unet_config_from_state_dict(sd: Mapping, prefix: str = "") -> UNetConfig:
    """Infer a UNetConfig from the shapes of a UNet state dict (keys under `prefix`)."""
    keys = {k[len(prefix):] for k in sd if k.startswith(prefix)}

    def shape(key: str) -> tuple[int, ...]:
        return _shape(sd, prefix + key)

    if "input_blocks.0.0.weight" not in keys:
        raise UNetConfigError(f"no UNet found: missing {prefix}input_blocks.0.0.weight")
    model_channels, in_channels = shape("input_blocks.0.0.weight")[:2]
    out_channels = shape("out.2.weight")[0] if "out.2.weight" in keys else 4
    adm = shape("label_emb.0.0.weight")[1] if "label_emb.0.0.weight" in keys else None

    depth_of: dict[tuple[str, int], int] = {}
    middle_depth = -1
    context_dim = None
    for key in keys:
        match = _TRANSFORMER_KEY.match(key)
        if match:
            where = (match.group(1), int(match.group(2)))
            depth_of[where] = max(depth_of.get(where, 0), int(match.group(3)) + 1)
        match = _MIDDLE_TRANSFORMER_KEY.match(key)
        if match:
            middle_depth = max(middle_depth, int(match.group(1)) + 1)
        if context_dim is None and key.endswith("transformer_blocks.0.attn2.to_k.weight"):
            context_dim = shape(key)[1]
    proj_in = next((k for k in sorted(keys) if k.endswith(".1.proj_in.weight")), None)
    use_linear = proj_in is not None and len(shape(proj_in)) == 2

    channel_mult: list[int] = []
    num_res_blocks: list[int] = []
    transformer_depth: list[int] = []
    block = 1
    level_blocks = 0
    while f"input_blocks.{block}.0.op.weight" in keys or f"input_blocks.{block}.0.in_layers.0.weight" in keys:
        if f"input_blocks.{block}.0.op.weight" in keys:
            num_res_blocks.append(level_blocks)
            level_blocks = 0
        else:
            mult = shape(f"input_blocks.{block}.0.out_layers.3.weight")[0] // model_channels
            if level_blocks == 0:
                channel_mult.append(mult)
            level_blocks += 1
            transformer_depth.append(depth_of.get(("input_blocks", block), 0))
        block += 1
    num_res_blocks.append(level_blocks)
    if not channel_mult or len(channel_mult) != len(num_res_blocks):
        raise UNetConfigError("no UNet found: input blocks do not form levels of ResBlocks")
    output_count = sum(n + 1 for n in num_res_blocks)
    output_depth = tuple(depth_of.get(("output_blocks", i), 0) for i in range(output_count))

    if use_linear:
        heads = {"num_head_channels": 64 if model_channels % 64 == 0 else 8}
    else:
        heads = {"num_heads": 8}
    return UNetConfig(
        in_channels=in_channels,
        out_channels=out_channels,
        model_channels=model_channels,
        channel_mult=tuple(channel_mult),
        num_res_blocks=tuple(num_res_blocks),
        transformer_depth=tuple(transformer_depth),
        transformer_depth_output=output_depth,
        transformer_depth_middle=middle_depth,
        context_dim=context_dim,
        use_linear_in_transformer=use_linear,
        adm_in_channels=adm,
        **heads,
    )
