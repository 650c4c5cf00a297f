"""The transformer layer CLIP's text and vision towers share, under Hugging Face's parameter names.

`layer_norm1, self_attn.{q,k,v,out}_proj, layer_norm2, mlp.fc1, mlp.fc2`: pre-norm self-attention (SDPA;
causal in the text tower) then an MLP with quick_gelu (OpenAI's towers) or the exact erf gelu (OpenCLIP's),
layer norm eps 1e-5. Used by diffusion/models/text/clip_transformer.py and clip_vision/model.py.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

LAYER_NORM_EPS = 1e-5


def activation(name: str, x: torch.Tensor) -> torch.Tensor:
    """quick_gelu (OpenAI CLIP) or the exact erf gelu."""
    if name == "quick_gelu":
        return x * torch.sigmoid(1.702 * x)
    if name == "gelu":
        return F.gelu(x)
    raise ValueError(f"unknown CLIP activation {name!r}")


class SelfAttention(nn.Module):
    def __init__(self, dim: int, heads: int, causal: bool):
        super().__init__()
        self.heads, self.causal = heads, causal
        self.q_proj, self.k_proj, self.v_proj, self.out_proj = (nn.Linear(dim, dim) for _ in range(4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape

        def split(t: torch.Tensor) -> torch.Tensor:
            return t.view(b, n, self.heads, d // self.heads).transpose(1, 2)

        out = F.scaled_dot_product_attention(split(self.q_proj(x)), split(self.k_proj(x)), split(self.v_proj(x)),
                                             is_causal=self.causal)
        return self.out_proj(out.transpose(1, 2).reshape(b, n, d))


class Mlp(nn.Module):
    def __init__(self, dim: int, inner: int, act: str):
        super().__init__()
        activation(act, torch.zeros(1))  # an unknown name fails here, not at the first forward
        self.act = act
        self.fc1, self.fc2 = nn.Linear(dim, inner), nn.Linear(inner, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(activation(self.act, self.fc1(x)))


class TransformerLayer(nn.Module):
    def __init__(self, dim: int, heads: int, inner: int, act: str, *, causal: bool):
        super().__init__()
        self.layer_norm1 = nn.LayerNorm(dim, eps=LAYER_NORM_EPS)
        self.self_attn = SelfAttention(dim, heads, causal)
        self.layer_norm2 = nn.LayerNorm(dim, eps=LAYER_NORM_EPS)
        self.mlp = Mlp(dim, inner, act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.self_attn(self.layer_norm1(x))
        return x + self.mlp(self.layer_norm2(x))
