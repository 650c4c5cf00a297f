"""Deciding, before anything runs, where each model lives and how much memory a step may take.

Pure arithmetic on byte counts (no torch, so every decision is testable with a simulated device):

- `MemoryPolicy`: the user's choice (ComfyUI's flags): "normal" keeps models resident until the
  room is needed (least recently used out first) and streams a model that cannot fit whole;
  "high" (`--highvram`) loads whole models and never streams; "low" (`--lowvram`) streams every
  model that does not fit beside the computation and keeps nothing resident it does not need;
  "none" (`--novram`) streams every model. `--vram-budget GB` caps what models and computation
  may use; `--reserve-vram GB` is left free for other programs (default: 5 % of the device, at
  least 0.5 GB on GPUs).
- `plan_load(policy, device_bytes, resident, wanted, work_bytes, needed_soon)`: which resident models to
  evict, which wanted models go to the device whole and which are streamed block by block (weights stay
  on the offload device; each block visits the device when it computes), keeping `work_bytes` (the
  step's activations) free.
- `plan_host(host_bytes, offloaded, in_use, needed_soon)`: which models held in host memory (offloaded from
  the device, or evicted on a CPU run) move to files on disk first, least recently used first, when host
  memory would not hold them all.

Both are queue-aware: `needed_soon` names the models the next queued prompts use (the server works it out
from the pending prompts' file inputs). Among the models that could go, those not needed soon go first,
then those needed soon, each group least recently used first; so with checkpoints A (older) and B resident,
C wanted and room for two, the next prompt's A stays and B goes.
- `unet_step_bytes`, `vae_decode_bytes`, `vae_encode_bytes`: estimates of one step's peak from the
  shapes (see each docstring), and `choose_tile(...)`: the largest VAE tile whose estimate fits.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

GB = 1 << 30
POLICIES = ("normal", "high", "low", "none")
# The estimates below count the tensors alive at a step's peak; cuDNN workspaces, kernels' scratch and
# the caching allocator's rounding take about as much again, so each estimate is that count times MARGIN.
MARGIN = 2.0
# VAE tile sizes tried, in pixels, largest first (ComfyUI's VAEDecodeTiled default is 512).
TILE_SIZES = (1024, 768, 512, 384, 256, 192, 128, 64)


@dataclass(frozen=True)
class MemoryPolicy:
    """What the flags ask: a policy name, an optional cap on the device bytes used, a reserve."""

    name: str = "normal"
    budget_bytes: int | None = None
    reserve_bytes: int | None = None

    def __post_init__(self) -> None:
        if self.name not in POLICIES:
            raise ValueError(f"unknown memory policy {self.name!r}; expected one of {', '.join(POLICIES)}")
        if self.budget_bytes is not None and self.budget_bytes <= 0:
            raise ValueError(f"--vram-budget must be positive, got {self.budget_bytes / GB:g} GB")
        if self.reserve_bytes is not None and self.reserve_bytes < 0:
            raise ValueError(f"--reserve-vram must not be negative, got {self.reserve_bytes / GB:g} GB")

    def usable_bytes(self, device_bytes: int, *, gpu: bool = True) -> int:
        """Bytes models and computation may use on a device of `device_bytes`."""
        reserve = self.reserve_bytes
        if reserve is None:
            reserve = max(int(device_bytes * 0.05), GB // 2 if gpu else 0)
        usable = max(device_bytes - reserve, 0)
        if self.budget_bytes is not None:
            usable = min(usable, self.budget_bytes)
        return usable


@dataclass(frozen=True)
class Footprint:
    """One model as the planner sees it: a name, its weight bytes and its largest streamed block."""

    name: str
    weight_bytes: int
    block_bytes: int = 0  # 0: the model cannot be streamed (it is loaded whole)


@dataclass
class LoadPlan:
    """The planner's decision for one call (names of Footprints)."""

    evict: list[str] = field(default_factory=list)
    load: list[str] = field(default_factory=list)      # to the device whole (already there: `keep`)
    stream: list[str] = field(default_factory=list)    # weights stay offloaded, blocks visit the device
    keep: list[str] = field(default_factory=list)      # resident and staying
    device_bytes_after: int = 0                        # weights resident on the device afterwards
    fits: bool = True                                  # False: even streaming exceeds the budget
    notes: list[str] = field(default_factory=list)


def soonest_needed_last(models: Sequence[Footprint], needed_soon: Collection[str]) -> list[Footprint]:
    """`models` (least recently used first) in the order they should go: those not in `needed_soon`, then
    those in it, each group keeping its order."""
    return [m for m in models if m.name not in needed_soon] + [m for m in models if m.name in needed_soon]


def plan_load(policy: MemoryPolicy, usable_bytes: int, resident: Sequence[Footprint],
              wanted: Sequence[Footprint], work_bytes: int = 0, needed_soon: Collection[str] = ()) -> LoadPlan:
    """Where the `wanted` models compute, given the `resident` ones (least recently used first).

    Models needed together are never evicted for each other; residents named in `needed_soon` (the next
    queued prompts use them) are evicted only after the others (see `soonest_needed_last`); "low" still
    keeps no model resident that this call does not use. In "normal" and "low", when the wanted
    models do not fit whole beside `work_bytes`, the largest streamable ones are streamed until the
    rest fits; "high" loads them whole anyway (noting the overflow); "none" streams all it can.
    """
    plan = LoadPlan()
    wanted_names = {m.name for m in wanted}
    resident_names = [m.name for m in resident]
    if policy.name == "none":
        streamable = [m for m in wanted if m.block_bytes > 0]
        plan.stream = [m.name for m in streamable]
        whole = [m for m in wanted if m.block_bytes == 0]
    else:
        whole = list(wanted)
    stream_peak = max((m.block_bytes for m in wanted if m.name in plan.stream), default=0)

    def need(models: Sequence[Footprint]) -> int:
        return sum(m.weight_bytes for m in models) + work_bytes + stream_peak

    if policy.name in ("normal", "low") and need(whole) > usable_bytes:
        for model in sorted((m for m in whole if m.block_bytes > 0), key=lambda m: -m.weight_bytes):
            whole.remove(model)
            plan.stream.append(model.name)
            stream_peak = max(stream_peak, model.block_bytes)
            if need(whole) <= usable_bytes:
                break
    whole_names = {m.name for m in whole}
    # Residents not loaded whole: not needed soon before needed soon, least recently used out first in each,
    # while they do not fit beside the rest.
    others = soonest_needed_last([m for m in resident if m.name not in whole_names], needed_soon)
    remaining = sum(m.weight_bytes for m in others)
    room = usable_bytes - need(whole)
    for model in others:
        unneeded_in_low = policy.name == "low" and model.name not in wanted_names
        if unneeded_in_low or model.name in plan.stream or remaining > room:
            plan.evict.append(model.name)
            remaining -= model.weight_bytes
    plan.keep = [name for name in resident_names if name not in plan.evict]
    plan.load = [m.name for m in whole if m.name not in resident_names]
    plan.device_bytes_after = sum(m.weight_bytes for m in resident if m.name in plan.keep) + sum(
        m.weight_bytes for m in whole if m.name not in resident_names)
    peak = plan.device_bytes_after + work_bytes + stream_peak
    if peak > usable_bytes:
        plan.fits = False
        plan.notes.append(f"needs {peak / GB:.2f} GB of a {usable_bytes / GB:.2f} GB budget"
                          + ("; --highvram loads whole models anyway" if policy.name == "high" else ""))
    if plan.stream:
        plan.notes.append(f"streaming {', '.join(plan.stream)} block by block")
    return plan


def plan_host(usable_bytes: int, offloaded: Sequence[Footprint], host_bytes_in_use: int = 0,
              needed_soon: Collection[str] = ()) -> list[str]:
    """Which models kept in host memory (`offloaded`, least recently used first, each with the host bytes its
    weights take) move to files on disk so that they and `host_bytes_in_use` (models computing from host
    memory: a CPU run's loaded ones) fit in `usable_bytes`: those not in `needed_soon` first, each group least
    recently used first, only as many as needed. A model on disk still runs (its pages come back as it is
    read) and costs nothing in memory until then; it is the step before dropping it."""
    total = host_bytes_in_use + sum(m.weight_bytes for m in offloaded)
    moved = []
    for model in soonest_needed_last(offloaded, needed_soon):
        if total <= usable_bytes:
            break
        moved.append(model.name)
        total -= model.weight_bytes
    return moved


def unet_step_bytes(batch: int, latent_h: int, latent_w: int, *, model_channels: int,
                    channel_mult: Sequence[int], num_res_blocks: Sequence[int] | int, dtype_bytes: int,
                    attention_levels: Sequence[bool] | None = None) -> int:
    """Peak activation bytes of one UNet evaluation of `batch` latents (cond and uncond count twice).

    The skip connections of every input block are alive together until the output blocks use them;
    on top of them the widest working set is a transformer's feed-forward at the top attention level
    (GEGLU: 8x the width per token, its two halves and their product) or, without attention there, a
    ResBlock's three feature maps. SDPA does not materialise the attention matrix.
    """
    if isinstance(num_res_blocks, int):
        num_res_blocks = [num_res_blocks] * len(channel_mult)
    attention_levels = attention_levels or [True] * len(channel_mult)
    pixels = latent_h * latent_w
    skips = pixels * model_channels  # conv_in
    working = 0
    for level, (mult, blocks) in enumerate(zip(channel_mult, num_res_blocks, strict=True)):
        level_pixels = pixels / (4 ** level)
        width = model_channels * mult
        skips += level_pixels * width * (blocks + (1 if level < len(channel_mult) - 1 else 0))
        per_token = width * (8 + 4 + 4) if attention_levels[level] else width * 3
        working = max(working, level_pixels * per_token)
    return int(MARGIN * batch * dtype_bytes * (skips + working))


def unet_config_step_bytes(config, latent_shape: Sequence[int], *, dtype_bytes: int, evaluations: int = 2) -> int:
    """`unet_step_bytes` for a UNetConfig (diffusion/models/unet/config.py) and a [B, C, H, W] latent, each
    latent evaluated `evaluations` times per step (positive and negative: 2)."""
    blocks = tuple(config.num_res_blocks)
    depth = tuple(config.transformer_depth)
    levels, start = [], 0
    for count in blocks:  # transformer_depth has one entry per input ResBlock, level by level
        levels.append(any(d > 0 for d in depth[start:start + count]))
        start += count
    batch, _, height, width = latent_shape
    return unet_step_bytes(int(batch) * evaluations, int(height), int(width), model_channels=config.model_channels,
                           channel_mult=tuple(config.channel_mult), num_res_blocks=blocks, dtype_bytes=dtype_bytes,
                           attention_levels=levels)


def vae_decode_bytes(batch: int, latent_h: int, latent_w: int, *, dtype_bytes: int, width: int = 128) -> int:
    """Peak bytes of decoding `batch` latents with an SD VAE decoder (ch = `width`, mult 1,2,4,4).

    At full resolution the last up block holds its input (2 * width channels, upsampled), the
    ResBlock's two feature maps and GroupNorm's float32 copy: about (2 + 3) * width channels per
    pixel, plus the float32 output image (times MARGIN). For SDXL at 1024x1024 in bf16: about 3.6 GB,
    close to what ComfyUI reserves for the same decode.
    """
    pixels = 64 * latent_h * latent_w
    feature = pixels * width * (2 * dtype_bytes + 3 * dtype_bytes + 4)
    return int(MARGIN * batch * (feature + pixels * 3 * 4))


def vae_encode_bytes(batch: int, height: int, width_px: int, *, dtype_bytes: int, width: int = 128) -> int:
    """Peak bytes of encoding `batch` images of height x width pixels (the encoder's first level)."""
    pixels = height * width_px
    return int(MARGIN * batch * pixels * width * (3 * dtype_bytes + 4))


def choose_tile(free_bytes: int, batch: int, latent_h: int, latent_w: int, *, dtype_bytes: int,
                overlap_px: int = 64) -> int | None:
    """None when decoding whole fits in `free_bytes`, else the largest tile (pixels) that fits.

    A tile is decoded one batch item at a time, with its overlap on every side. When not even the
    smallest tile fits, the smallest is returned (and the decode may still fail).
    """
    if vae_decode_bytes(batch, latent_h, latent_w, dtype_bytes=dtype_bytes) <= free_bytes:
        return None
    for tile in TILE_SIZES:
        side = (tile + 2 * overlap_px) // 8
        if tile < 8 * max(latent_h, latent_w) and vae_decode_bytes(1, side, side, dtype_bytes=dtype_bytes) <= free_bytes:
            return tile
    return TILE_SIZES[-1]
