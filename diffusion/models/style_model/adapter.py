"""The T2I-Adapter style model (TencentARC's `t2iadapter_style`), under the released file's key names.

    style_embedding                       [1, tokens, width]   learned query tokens
    ln_pre.*, ln_post.*                   layer norms
    transformer_layes.N.attn.{in_proj_weight, in_proj_bias, out_proj.*}   (sic: "layes")
    transformer_layes.N.{ln_1, ln_2, mlp.c_fc, mlp.c_proj}.*              quick_gelu MLP
    proj                                  [width, context_dim]

`forward(last_hidden_state)` appends the style tokens to the CLIP vision tokens, runs the
pre-norm transformer (8 heads, as the released model and ComfyUI), and returns the post-normed
style tokens projected to the text context width: [B, tokens, context_dim]. Shapes come from
the file (the release: width 1024 = CLIP ViT-L/14, 8 tokens, 3 layers, context 768).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import nn

NUM_HEADS = 8
_LAYER_RE = re.compile(r"^transformer_layes\.(\d+)\.")


class StyleModelError(ValueError):
    """A file that is not a T2I style model, or a style model that does not fit its inputs."""


class ResidualAttentionBlock(nn.Module):
    def __init__(self, width: int):
        super().__init__()
        self.attn = nn.Module()
        self.attn.in_proj_weight = nn.Parameter(torch.zeros(3 * width, width))
        self.attn.in_proj_bias = nn.Parameter(torch.zeros(3 * width))
        self.attn.out_proj = nn.Linear(width, width)
        self.ln_1, self.ln_2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.mlp = nn.Module()
        self.mlp.c_fc, self.mlp.c_proj = nn.Linear(width, 4 * width), nn.Linear(4 * width, width)

    def attention(self, x: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        q, k, v = F.linear(x, self.attn.in_proj_weight, self.attn.in_proj_bias).chunk(3, dim=-1)

        def heads(t: torch.Tensor) -> torch.Tensor:
            return t.view(b, n, NUM_HEADS, d // NUM_HEADS).transpose(1, 2)

        out = F.scaled_dot_product_attention(heads(q), heads(k), heads(v)).transpose(1, 2).reshape(b, n, d)
        return self.attn.out_proj(out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attention(self.ln_1(x))
        hidden = self.mlp.c_fc(self.ln_2(x))
        return x + self.mlp.c_proj(hidden * torch.sigmoid(1.702 * hidden))


class StyleAdapter(nn.Module):
    def __init__(self, width: int, context_dim: int, layers: int, tokens: int):
        super().__init__()
        if width % NUM_HEADS:
            raise StyleModelError(f"a style model's width must be a multiple of {NUM_HEADS}, got {width}")
        self.width, self.context_dim, self.tokens = width, context_dim, tokens
        self.style_embedding = nn.Parameter(torch.zeros(1, tokens, width))
        self.transformer_layes = nn.Sequential(*(ResidualAttentionBlock(width) for _ in range(layers)))
        self.ln_pre, self.ln_post = nn.LayerNorm(width), nn.LayerNorm(width)
        self.proj = nn.Parameter(torch.zeros(width, context_dim))
        self.requires_grad_(False)
        self.eval()

    def forward(self, vision_tokens: torch.Tensor) -> torch.Tensor:
        if vision_tokens.ndim != 3 or vision_tokens.shape[-1] != self.width:
            raise StyleModelError(f"this style model takes CLIP vision tokens {self.width} wide, got "
                                  f"{tuple(vision_tokens.shape)} (it is made for a different CLIP vision model)")
        x = vision_tokens.to(device=self.proj.device, dtype=self.proj.dtype)  # where the model manager put it
        style = self.style_embedding.expand(x.shape[0], -1, -1)
        x = self.transformer_layes(self.ln_pre(torch.cat([x, style], dim=1)))
        return self.ln_post(x[:, -self.tokens:, :]) @ self.proj

    @classmethod
    def from_state_dict(cls, sd: Mapping, source: str = "state dict") -> StyleAdapter:
        keys = set(sd.keys())
        if "style_embedding" not in keys or "proj" not in keys:
            flux = " (a Flux Redux model, which this project does not run)" if "redux_down.weight" in keys else ""
            raise StyleModelError(f"{source}: not a style model{flux}: expected T2I-Adapter style keys "
                                  "(style_embedding, proj, transformer_layes.N...)")
        layers = len({int(m.group(1)) for k in keys if (m := _LAYER_RE.match(k))})
        _, tokens, width = tuple(sd["style_embedding"].shape)
        model = cls(width, tuple(sd["proj"].shape)[1], layers, tokens)
        wanted = model.state_dict()
        if set(wanted) != keys:
            odd = sorted(set(wanted) ^ keys)[:3]
            raise StyleModelError(f"{source}: style model keys differ from the T2I style layout, e.g. {odd}")
        for key, target in wanted.items():
            if tuple(sd[key].shape) != tuple(target.shape):
                raise StyleModelError(f"{source}: {key} has shape {tuple(sd[key].shape)}, expected "
                                      f"{tuple(target.shape)}")
        model.load_state_dict({k: sd[k] for k in wanted})
        return model.float()
