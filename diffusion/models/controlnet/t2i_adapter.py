"""T2I-Adapters (TencentARC; ComfyUI's comfy/t2i_adapter/adapter.py), parameter names mirroring the files.

An adapter turns the hint image alone (no latent, no timestep) into four feature maps that are
added to the UNet's input-block outputs (ComfyUI's "input" control residuals):
- the hint is pixel-unshuffled (8x for SD1.x/SD2.x adapters, 16x for SDXL ones), so the first
  features are at the latent size (SDXL: half of it);
- "full" adapters (`conv_in`, `body.N.{in_conv,block1,block2,skep,down_opt.op}`): `nums_rb` residual
  blocks per level, channels (c, 2c, 4c, 4c); "light" adapters (`body.I.{in_conv,body.J,out_conv}`):
  one extractor per level;
- where the features go: SD1.x after input blocks 2, 5, 8 and 11; SDXL after input blocks 3, 5
  and 8, the last one after the middle block.
The configuration is read from the tensor shapes; the diffusers layout (`adapter.body.I.resnets.J`)
is renamed to the original one first, as ComfyUI's load_t2i_adapter does, and old TencentARC `.pth`
files with the state dict nested under "adapter" (read as `adapter.conv_in.weight`, ...) are unwrapped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

SD_BLOCKS = (2, 5, 8, 11)  # input blocks after which each level's features are added (12 slots)
XL_BLOCKS = (3, 5, 8, None)  # SDXL: None = after the middle block (10 input slots, as ComfyUI)
XL_INPUT_CHANNELS = (256, 768)  # unshuffled input channels of SDXL adapters (1 or 3 image channels x 16x16)
NESTED_PREFIX = "adapter."


class AdapterConfigError(ValueError):
    """The tensors do not form a T2I-Adapter."""


@dataclass(frozen=True)
class AdapterConfig:
    kind: str  # "full" | "light"
    cin: int  # channels after pixel-unshuffle (image channels x unshuffle^2)
    channels: tuple[int, ...]  # output channels of each level
    nums_rb: int  # residual blocks per level
    ksize: int = 3  # kernel of in_conv / block2 / skep (full adapters)
    sk: bool = True  # full adapters: identity skip (no `skep` convolution)
    use_conv: bool = False  # full adapters: strided-conv downsampling (`down_opt.op`) instead of average pooling

    @property
    def xl(self) -> bool:
        return self.kind == "full" and self.cin in XL_INPUT_CHANNELS

    @property
    def unshuffle_amount(self) -> int:
        return 16 if self.xl else 8

    @property
    def input_channels(self) -> int:
        return self.cin // self.unshuffle_amount ** 2


def _shape(sd: Mapping, key: str) -> tuple[int, ...]:
    shape_of = getattr(sd, "shape", None)
    return tuple(shape_of(key)) if callable(shape_of) else tuple(sd[key].shape)


def adapter_config_from_state_dict(sd: Mapping) -> AdapterConfig:
    """The adapter shape of tensors in the original layout (no prefix)."""
    if "body.0.in_conv.weight" in sd and "body.0.out_conv.weight" in sd:
        levels = sorted({int(m.group(1)) for k in sd if (m := re.match(r"^body\.(\d+)\.out_conv\.weight$", k))})
        blocks = {int(m.group(1)) for k in sd if (m := re.match(r"^body\.0\.body\.(\d+)\.block1\.weight$", k))}
        if levels != list(range(len(levels))) or not blocks:
            raise AdapterConfigError(f"light adapter levels are not 0, 1, ...: {levels}")
        return AdapterConfig("light", _shape(sd, "body.0.in_conv.weight")[1],
                             tuple(_shape(sd, f"body.{i}.out_conv.weight")[0] for i in levels), len(blocks))
    if "conv_in.weight" in sd and "body.0.block1.weight" in sd:
        count = len({int(m.group(1)) for k in sd if (m := re.match(r"^body\.(\d+)\.block1\.weight$", k))})
        if count % 4:
            raise AdapterConfigError(f"a full adapter has 4 levels of residual blocks, found {count} blocks")
        nums_rb = count // 4
        channels = tuple(_shape(sd, f"body.{i * nums_rb}.block1.weight")[0] for i in range(4))
        return AdapterConfig("full", _shape(sd, "conv_in.weight")[1], channels, nums_rb,
                             ksize=_shape(sd, "body.0.block2.weight")[2], sk="body.0.skep.weight" not in sd,
                             use_conv=any(k.endswith("down_opt.op.weight") for k in sd))
    raise AdapterConfigError("no T2I-Adapter found: expected conv_in + body.N.block1 (full) or "
                             "body.N.in_conv + body.N.out_conv (light)")


def is_diffusers_adapter(sd: Mapping) -> bool:
    return "adapter.body.0.resnets.0.block1.weight" in sd


def _is_original_adapter(sd: Mapping, prefix: str = "") -> bool:
    return ((f"{prefix}conv_in.weight" in sd and f"{prefix}body.0.block1.weight" in sd)
            or (f"{prefix}body.0.in_conv.weight" in sd and f"{prefix}body.0.out_conv.weight" in sd))


def is_nested_adapter(sd: Mapping) -> bool:
    """The original layout under `adapter.`: TencentARC `.pth` files holding {"adapter": state dict, ...} beside
    other entries, which the file reader flattens to `adapter.<key>` (ComfyUI reads t2i_data["adapter"])."""
    return not is_diffusers_adapter(sd) and _is_original_adapter(sd, NESTED_PREFIX)


def is_t2i_adapter(sd: Mapping) -> bool:
    """The keys of a full, light, nested or diffusers-layout adapter (not merely `body.*`: ESRGAN files have those)."""
    return _is_original_adapter(sd) or is_nested_adapter(sd) or is_diffusers_adapter(sd)


def adapter_layout(sd: Mapping) -> str:
    """"diffusers" | "nested" (original keys under `adapter.`) | "original"."""
    return "diffusers" if is_diffusers_adapter(sd) else "nested" if is_nested_adapter(sd) else "original"


def adapter_tensors(sd: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The adapter's tensors under the original keys, whichever layout `sd` has (values are not copied)."""
    layout = adapter_layout(sd)
    if layout == "diffusers":
        return diffusers_adapter_to_original(sd)
    if layout == "nested":
        return {k[len(NESTED_PREFIX):]: sd[k] for k in sd if k.startswith(NESTED_PREFIX)}
    return {k: sd[k] for k in sd}


def diffusers_adapter_to_original(sd: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """diffusers' T2IAdapter keys (`adapter.conv_in`, `adapter.body.I.resnets.J`, `adapter.body.I.in_conv`,
    light: `adapter.body.I.out_conv`) renamed to the original layout."""
    light = any(k.startswith("adapter.body.0.out_conv.") for k in sd)
    per_level = 1 + max((int(m.group(1)) for k in sd if (m := re.match(r"^adapter\.body\.0\.resnets\.(\d+)\.", k))),
                        default=0)
    out = {}
    for key in sd:
        name = key[len("adapter."):] if key.startswith("adapter.") else key
        if m := re.match(r"^body\.(\d+)\.resnets\.(\d+)\.(.*)$", name):
            level, block, rest = int(m.group(1)), int(m.group(2)), m.group(3)
            name = f"body.{level}.body.{block}.{rest}" if light else f"body.{level * per_level + block}.{rest}"
        elif not light and (m := re.match(r"^body\.(\d+)\.in_conv\.(.*)$", name)):
            name = f"body.{int(m.group(1)) * per_level}.in_conv.{m.group(2)}"
        out[name] = sd[key]
    return out


def _downsample(x: torch.Tensor) -> torch.Tensor:
    """2x average pooling, padding odd sizes (as the original Downsample without a convolution)."""
    return F.avg_pool2d(x, 2, 2, padding=[x.shape[2] % 2, x.shape[3] % 2])


class _ConvDown(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.op = nn.Conv2d(channels, channels, 3, stride=2, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


class AdapterResBlock(nn.Module):
    """Full adapter block: [downsample] -> [in_conv] -> x + block2(relu(block1(x))) (or + skep(x))."""

    def __init__(self, cin: int, cout: int, down: bool, config: AdapterConfig):
        super().__init__()
        pad = config.ksize // 2
        self.down = down
        self.down_opt = _ConvDown(cin) if down and config.use_conv else None
        self.in_conv = nn.Conv2d(cin, cout, config.ksize, 1, pad) if cin != cout or not config.sk else None
        self.block1 = nn.Conv2d(cout, cout, 3, 1, 1)
        self.block2 = nn.Conv2d(cout, cout, config.ksize, 1, pad)
        # the skip convolution sees x after in_conv (as in the original code), so it maps cout -> cout
        self.skep = None if config.sk else nn.Conv2d(cout, cout, config.ksize, 1, pad)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.down:
            x = self.down_opt(x) if self.down_opt is not None else _downsample(x)
        if self.in_conv is not None:
            x = self.in_conv(x)
        h = self.block2(F.relu(self.block1(x)))
        return h + (self.skep(x) if self.skep is not None else x)


class LightResBlock(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.block1 = nn.Conv2d(channels, channels, 3, 1, 1)
        self.block2 = nn.Conv2d(channels, channels, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block2(F.relu(self.block1(x)))


class LightExtractor(nn.Module):
    """Light adapter level: [downsample] -> 1x1 in_conv (to a quarter) -> residual blocks -> 1x1 out_conv."""

    def __init__(self, cin: int, cout: int, nums_rb: int, down: bool):
        super().__init__()
        self.down = down
        self.in_conv = nn.Conv2d(cin, cout // 4, 1)
        self.body = nn.Sequential(*(LightResBlock(cout // 4) for _ in range(nums_rb)))
        self.out_conv = nn.Conv2d(cout // 4, cout, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.down:
            x = _downsample(x)
        return self.out_conv(self.body(self.in_conv(x)))


class T2IAdapter(nn.Module):
    """hint [B, C, H, W] (0..1, H and W multiples of `unshuffle_amount`) -> {"input": [...], "middle": [...]}.

    The "input" list is in the UNet's pop order (last input block first), None where nothing is added.
    """

    def __init__(self, config: AdapterConfig):
        super().__init__()
        self.config = config
        self.unshuffle_amount = config.unshuffle_amount
        channels = config.channels
        if config.kind == "light":
            self.body = nn.ModuleList(LightExtractor(config.cin if i == 0 else channels[i - 1], c, config.nums_rb, i > 0)
                                      for i, c in enumerate(channels))
            return
        self.conv_in = nn.Conv2d(config.cin, channels[0], 3, 1, 1)
        downsampled = (2,) if config.xl else (1, 2, 3)
        blocks = []
        for i, cout in enumerate(channels):
            for j in range(config.nums_rb):
                cin = channels[i - 1] if i and j == 0 else cout
                blocks.append(AdapterResBlock(cin, cout, i in downsampled and j == 0, config))
        self.body = nn.ModuleList(blocks)

    @property
    def dtype(self) -> torch.dtype:
        return next(self.parameters()).dtype

    def features(self, hint: torch.Tensor) -> list[torch.Tensor]:
        """The four level features, in order."""
        x = F.pixel_unshuffle(hint, self.unshuffle_amount)
        if x.shape[1] != self.config.cin:
            raise ValueError(f"the T2I-Adapter takes {self.config.input_channels}-channel hints, got "
                             f"{hint.shape[1]} channels")
        if self.config.kind == "light":
            out = []
            for level in self.body:
                x = level(x)
                out.append(x)
            return out
        x = self.conv_in(x)
        out = []
        per_level = self.config.nums_rb
        for index, block in enumerate(self.body):
            x = block(x)
            if index % per_level == per_level - 1:
                out.append(x)
        return out

    def forward(self, hint: torch.Tensor) -> dict[str, list]:
        features = self.features(hint)
        places = XL_BLOCKS if self.config.xl else SD_BLOCKS
        slots: list[torch.Tensor | None] = [None] * (10 if self.config.xl else 12)
        middle = []
        for block, feature in zip(places, features, strict=False):
            if block is None:
                middle.append(feature)
            else:
                slots[block] = feature
        return {"input": slots[::-1], "middle": middle}


def adapter_residuals(network: T2IAdapter, x_in, hint: torch.Tensor, timesteps, context, y, prepared) -> dict:
    """`ControlModel.residuals_of` for adapters: features of the hint (grey for 1-channel adapters), computed
    once per hint size and reused at every step (they depend on neither the latent nor the timestep); a
    batch-1 hint's features are expanded to the latent batch."""
    if network.config.input_channels == 1 and hint.shape[1] > 1:
        hint = hint.mean(dim=1, keepdim=True)
    key = ("t2i", tuple(hint.shape), hint.device)
    cached = prepared.cache.get(key)
    if cached is None:
        cached = network(hint.to(network.dtype))
        prepared.cache.clear()
        prepared.cache[key] = cached
    batch = x_in.shape[0]
    return {name: [_expand(v, batch) for v in values] for name, values in cached.items()}


def _expand(value: torch.Tensor | None, batch: int) -> torch.Tensor | None:
    if value is None or value.shape[0] == batch:
        return value
    return value.expand(batch, *value.shape[1:])
