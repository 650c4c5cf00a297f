"""GLIGEN (grounded text boxes) as ComfyUI's comfy/gligen.py runs it, under the released file's keys.

A GLIGEN file (`gligen_sd14_textbox_pruned`) holds, for every transformer block of the UNet, a
gated self-attention "fuser" (keys `<block>.transformer_blocks.N.fuser.*`, where <block> is
`input_blocks.I.1`, `middle_block.1` or `output_blocks.O.1`, with or without a
`model.diffusion_model.` prefix), and a `position_net.*` that turns (text embedding, box) pairs into
grounding tokens:

- PositionNet: each box (x1, y1, x2, y2 as fractions of the latent) gets 8-frequency Fourier
  features [sin(f x), cos(f x)] (f = 100^(k/8)); padding slots (30 in all) take the learned null
  features; linears (in+64 -> H -> H -> out, SiLU) give the objects [B, 30, out].
- fuser (between self- and cross-attention, the UNet's `middle_patch`): objs' = linear(objs);
  x += tanh(alpha_attn) * attn(norm1([x ‖ objs']))[:, :len(x)]; x += tanh(alpha_dense) * ff(norm2(x)),
  ff a GEGLU feed-forward; attention with 8 heads when the text width is 768 (SD1.x), else
  64-wide heads (at least one, for tiny test models).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import nn

MAX_OBJECTS = 30
FOURIER_FREQS = 8
_FUSER_RE = re.compile(r"(?:^|\.)(input_blocks\.(\d+)\.1|middle_block\.1|output_blocks\.(\d+)\.1)"
                       r"\.transformer_blocks\.(\d+)\.fuser\.(.+)$")


class GligenError(ValueError):
    """A file that is not a GLIGEN model, or boxes that do not fit it."""


def fourier_features(boxes: torch.Tensor) -> torch.Tensor:
    freqs = 100.0 ** (torch.arange(FOURIER_FREQS, dtype=torch.float32) / FOURIER_FREQS)
    parts = []
    for f in freqs.tolist():
        parts += [torch.sin(f * boxes), torch.cos(f * boxes)]
    return torch.cat(parts, dim=-1)


class PositionNet(nn.Module):
    def __init__(self, in_dim: int, hidden: int, out_dim: int):
        super().__init__()
        position_dim = FOURIER_FREQS * 2 * 4
        self.linears = nn.Sequential(nn.Linear(in_dim + position_dim, hidden), nn.SiLU(), nn.Linear(hidden, hidden),
                                     nn.SiLU(), nn.Linear(hidden, out_dim))
        self.null_positive_feature = nn.Parameter(torch.zeros(in_dim))
        self.null_position_feature = nn.Parameter(torch.zeros(position_dim))

    def forward(self, boxes: torch.Tensor, masks: torch.Tensor, embeddings: torch.Tensor) -> torch.Tensor:
        masks = masks.unsqueeze(-1)
        xyxy = fourier_features(boxes)
        embeddings = embeddings * masks + (1 - masks) * self.null_positive_feature.view(1, 1, -1)
        xyxy = xyxy * masks + (1 - masks) * self.null_position_feature.view(1, 1, -1)
        return self.linears(torch.cat([embeddings, xyxy], dim=-1))


class _Attention(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.to_q, self.to_k, self.to_v = (nn.Linear(dim, dim, bias=False) for _ in range(3))
        self.to_out = nn.Sequential(nn.Linear(dim, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape

        def split(t: torch.Tensor) -> torch.Tensor:
            return t.view(b, n, self.heads, d // self.heads).transpose(1, 2)

        out = F.scaled_dot_product_attention(split(self.to_q(x)), split(self.to_k(x)), split(self.to_v(x)))
        return self.to_out(out.transpose(1, 2).reshape(b, n, d))


class _GEGLU(nn.Module):
    def __init__(self, dim: int, inner: int):
        super().__init__()
        self.proj = nn.Linear(dim, inner * 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        value, gate = self.proj(x).chunk(2, dim=-1)
        return value * F.gelu(gate)


class GatedSelfAttention(nn.Module):
    """One fuser: grounding tokens mixed into the visual tokens through gated self-attention."""

    def __init__(self, query_dim: int, key_dim: int):
        super().__init__()
        heads = 8 if key_dim == 768 else max(1, query_dim // 64)
        self.linear = nn.Linear(key_dim, query_dim)
        self.attn = _Attention(query_dim, heads)
        self.ff = nn.Module()
        self.ff.net = nn.Sequential(_GEGLU(query_dim, query_dim * 4), nn.Dropout(0.0), nn.Linear(query_dim * 4, query_dim))
        self.norm1, self.norm2 = nn.LayerNorm(query_dim), nn.LayerNorm(query_dim)
        self.alpha_attn = nn.Parameter(torch.tensor(0.0))
        self.alpha_dense = nn.Parameter(torch.tensor(0.0))

    def forward(self, x: torch.Tensor, objs: torch.Tensor) -> torch.Tensor:
        visual = x.shape[1]
        objs = self.linear(objs)
        x = x + torch.tanh(self.alpha_attn) * self.attn(self.norm1(torch.cat([x, objs], dim=1)))[:, :visual]
        return x + torch.tanh(self.alpha_dense) * self.ff.net(self.norm2(x))


def _block_of(match: re.Match) -> tuple[str, int]:
    if match.group(2) is not None:
        return ("input", int(match.group(2)))
    if match.group(3) is not None:
        return ("output", int(match.group(3)))
    return ("middle", 0)


class Gligen(nn.Module):
    """The fusers by (block, transformer index) and the position net. `key_dim`: the text embedding width."""

    def __init__(self, fusers: dict[tuple[tuple[str, int], int], GatedSelfAttention], position_net: PositionNet,
                 key_dim: int):
        super().__init__()
        self.keys = list(fusers)
        self.fusers = nn.ModuleList(fusers.values())
        self.position_net = position_net
        self.key_dim = key_dim
        self.requires_grad_(False)
        self.eval()

    def fuser(self, block: tuple[str, int], index: int) -> GatedSelfAttention | None:
        try:
            return self.fusers[self.keys.index((tuple(block), index))]
        except ValueError:
            return None

    @classmethod
    def from_state_dict(cls, sd: Mapping, source: str = "state dict") -> Gligen:
        groups: dict[tuple[tuple[str, int], int], dict[str, torch.Tensor]] = {}
        net: dict[str, torch.Tensor] = {}
        for key in sd.keys():
            match = _FUSER_RE.search(key)
            if match:
                groups.setdefault((_block_of(match), int(match.group(4))), {})[match.group(5)] = sd[key]
            elif "position_net." in key:
                net[key.split("position_net.", 1)[1]] = sd[key]
        if not groups or "null_positive_feature" not in net:
            raise GligenError(f"{source}: not a GLIGEN model: expected `...transformer_blocks.N.fuser.*` and "
                              "`position_net.*` keys")
        fusers = {}
        key_dim = None
        for where, weights in sorted(groups.items(), key=lambda item: (("input", "middle", "output").index(
                item[0][0][0]), item[0][0][1], item[0][1])):
            if "linear.weight" not in weights:
                raise GligenError(f"{source}: the fuser of {where} has no linear.weight")
            query_dim, key_dim = tuple(weights["linear.weight"].shape)
            fuser = GatedSelfAttention(query_dim, key_dim)
            _load(fuser, weights, f"{source}: fuser of {where}")
            fusers[where] = fuser
        in_dim = net["null_positive_feature"].shape[0]
        position_net = PositionNet(in_dim, net["linears.0.weight"].shape[0], net["linears.4.weight"].shape[0])
        _load(position_net, net, f"{source}: position_net")
        return cls(fusers, position_net, in_dim).float()


def _load(module: nn.Module, weights: dict, where: str) -> None:
    wanted = module.state_dict()
    if set(wanted) != set(weights):
        odd = sorted(set(wanted) ^ set(weights))[:3]
        raise GligenError(f"{where}: keys differ from GLIGEN's layout, e.g. {odd}")
    for key, target in wanted.items():
        if tuple(weights[key].shape) != tuple(target.shape):
            raise GligenError(f"{where}: {key} has shape {tuple(weights[key].shape)}, expected {tuple(target.shape)}")
    module.load_state_dict(weights)
