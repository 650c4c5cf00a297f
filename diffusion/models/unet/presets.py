"""UNet configurations of the released model families, full-size and tiny, as plain data.

Full sizes are the real SD1.5 / SD2.1 / SDXL base / SDXL refiner UNets. Tiny ones keep each
family's structure (which levels attend, conv vs linear projections, vector conditioning,
transformer depth > 1 for SDXL) at a few hundred thousand parameters, for tests.
`unet_preset_fields` gives the keyword arguments of `UNetConfig`; `UNetConfig.preset` builds it.
Tiny context sizes follow the tiny text-encoder presets of `diffusion.models.text.clip_text` (SDXL's
context is CLIP-L ‖ CLIP-G wide, its pooled vector CLIP-G's projection).
"""

from __future__ import annotations

from diffusion.models.text.clip_text import TextEncoderConfig

FAMILIES = ("sd15", "sd15-inpaint", "sd21", "sd21-v", "sdxl", "sdxl-refiner")
SIZES = ("tiny", "full")

# SDXL's vector conditioning: pooled text embedding, then 256 Fourier features per size number.
SDXL_SIZE_EMBED_DIM = 256


def _per_level(depths: tuple[int, ...], num_res_blocks: tuple[int, ...]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Expand per-level depths into per-input-block and per-output-block lists."""
    inputs = tuple(d for d, n in zip(depths, num_res_blocks, strict=True) for _ in range(n))
    outputs = tuple(d for d, n in reversed(list(zip(depths, num_res_blocks, strict=True))) for _ in range(n + 1))
    return inputs, outputs


def _config(*, in_channels=4, model_channels, channel_mult, num_res_blocks, level_depths, middle_depth,
            context_dim, linear, adm=None) -> dict:
    inputs, outputs = _per_level(level_depths, num_res_blocks)
    if linear:
        heads = {"num_head_channels": 64 if model_channels % 64 == 0 else 8}
    else:
        heads = {"num_heads": 8}
    return {
        "in_channels": in_channels,
        "out_channels": 4,
        "model_channels": model_channels,
        "channel_mult": channel_mult,
        "num_res_blocks": num_res_blocks,
        "transformer_depth": inputs,
        "transformer_depth_output": outputs,
        "transformer_depth_middle": middle_depth,
        "context_dim": context_dim,
        "use_linear_in_transformer": linear,
        "adm_in_channels": adm,
        **heads,
    }


def unet_preset_fields(family: str, size: str = "full") -> dict:
    """The `UNetConfig` fields of `family` at `size` ("tiny" or "full"); ValueError names what is unknown."""
    if family not in FAMILIES:
        raise ValueError(f"unknown model family {family!r}; expected one of {', '.join(FAMILIES)}")
    if size not in SIZES:
        raise ValueError(f"unknown size {size!r}; expected tiny or full")
    in_channels = 9 if family == "sd15-inpaint" else 4
    if size == "full":
        if family in ("sd15", "sd15-inpaint", "sd21", "sd21-v"):
            sd2 = family.startswith("sd21")
            return _config(in_channels=in_channels, model_channels=320, channel_mult=(1, 2, 4, 4),
                           num_res_blocks=(2, 2, 2, 2), level_depths=(1, 1, 1, 0), middle_depth=1,
                           context_dim=1024 if sd2 else 768, linear=sd2)
        if family == "sdxl":
            return _config(model_channels=320, channel_mult=(1, 2, 4), num_res_blocks=(2, 2, 2),
                           level_depths=(0, 2, 10), middle_depth=10, context_dim=2048, linear=True,
                           adm=1280 + 6 * SDXL_SIZE_EMBED_DIM)
        return _config(model_channels=384, channel_mult=(1, 2, 4, 4), num_res_blocks=(2, 2, 2, 2),
                       level_depths=(0, 4, 4, 0), middle_depth=4, context_dim=1280, linear=True,
                       adm=1280 + 5 * SDXL_SIZE_EMBED_DIM)
    clip_l, clip_h, clip_g = (TextEncoderConfig.preset(kind, "tiny") for kind in ("clip_l", "clip_h", "clip_g"))
    if family in ("sd15", "sd15-inpaint", "sd21", "sd21-v"):
        sd2 = family.startswith("sd21")
        return _config(in_channels=in_channels, model_channels=32, channel_mult=(1, 2, 2), num_res_blocks=(1, 1, 1),
                       level_depths=(1, 1, 0), middle_depth=1,
                       context_dim=clip_h.hidden_size if sd2 else clip_l.hidden_size, linear=sd2)
    pooled = clip_g.projection_dim
    if family == "sdxl":
        return _config(model_channels=32, channel_mult=(1, 2, 2), num_res_blocks=(1, 1, 1), level_depths=(0, 1, 2),
                       middle_depth=2, context_dim=clip_l.hidden_size + clip_g.hidden_size, linear=True,
                       adm=pooled + 6 * SDXL_SIZE_EMBED_DIM)
    return _config(model_channels=32, channel_mult=(1, 2, 2, 2), num_res_blocks=(1, 1, 1, 1),
                   level_depths=(0, 2, 2, 0), middle_depth=2, context_dim=clip_g.hidden_size, linear=True,
                   adm=pooled + 5 * SDXL_SIZE_EMBED_DIM)
