"""CLIP's text transformer, written here: what SD's text encoders compute, without importing transformers.

The module tree and parameter names are Hugging Face's `CLIPTextModel` ones (the layout the released
files use after the prefix), so weights, LoRA keys and saved files are unchanged:

    embeddings.{token_embedding, position_embedding}.weight   (+ the non-persistent position_ids buffer)
    encoder.layers.N.{layer_norm1, self_attn.{q,k,v,out}_proj, layer_norm2, mlp.fc1, mlp.fc2}.{weight,bias}
    final_layer_norm.{weight,bias}

Each layer is diffusion/models/clip_layers.py's, causal: pre-norm self-attention then an MLP (quick_gelu
for OpenAI's ViT-L text tower, gelu for the OpenCLIP ones), layer norm eps 1e-5. `forward(input_ids)` returns a `TextModelOutput`:
`hidden_states` (the embeddings, then every layer's output: layers + 1 entries), `last_hidden_state`
(the last layer after final_layer_norm) and `pooler_output` (last_hidden_state at each row's first end
token). Importing transformers cost every process that encodes a prompt ~3.7 s of start-up; the
equality with transformers' model is tested in tests/diffusion/models/text/test_clip_transformer.py.
Random initialisation follows CLIP's scheme (normal weights of CLIP's standard deviations, zero biases).
"""

from __future__ import annotations

import torch
from torch import nn

from diffusion.models.clip_layers import LAYER_NORM_EPS, TransformerLayer


class TextModelOutput(dict):
    """transformers' output object in the parts SD uses: keys readable as attributes, `"key" in out`."""

    def __getattr__(self, name: str):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


class TextEmbeddings(nn.Module):
    def __init__(self, vocab_size: int, hidden_size: int, max_positions: int):
        super().__init__()
        self.token_embedding = nn.Embedding(vocab_size, hidden_size)
        self.position_embedding = nn.Embedding(max_positions, hidden_size)
        self.register_buffer("position_ids", torch.arange(max_positions).unsqueeze(0), persistent=False)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        length = input_ids.shape[-1]
        if length > self.position_embedding.weight.shape[0]:
            raise ValueError(f"{length} tokens, but the text encoder has {self.position_embedding.weight.shape[0]} "
                             "positions")
        return self.token_embedding(input_ids) + self.position_embedding(self.position_ids[:, :length])


class TextEncoderLayers(nn.Module):
    def __init__(self, layers: list[TransformerLayer]):
        super().__init__()
        self.layers = nn.ModuleList(layers)


class ClipTextTransformer(nn.Module):
    """CLIP's text tower (see the module docstring); `end_token` marks where the pooled output is read."""

    def __init__(self, *, vocab_size: int, hidden_size: int, num_layers: int, num_heads: int,
                 intermediate_size: int, hidden_act: str, max_positions: int, end_token: int):
        super().__init__()
        if hidden_size % num_heads:
            raise ValueError(f"hidden size {hidden_size} is not a multiple of {num_heads} heads")
        self.end_token = end_token
        self.embeddings = TextEmbeddings(vocab_size, hidden_size, max_positions)
        self.encoder = TextEncoderLayers([TransformerLayer(hidden_size, num_heads, intermediate_size, hidden_act, causal=True)
                                          for _ in range(num_layers)])
        self.final_layer_norm = nn.LayerNorm(hidden_size, eps=LAYER_NORM_EPS)
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """CLIP's initialisation: embeddings N(0, 0.02), projections scaled by width and depth, zero biases."""
        if self.embeddings.token_embedding.weight.is_meta:
            return
        width = self.embeddings.token_embedding.weight.shape[1]
        depth = len(self.encoder.layers)
        in_std = width ** -0.5 * (2 * depth) ** -0.5
        nn.init.normal_(self.embeddings.token_embedding.weight, std=0.02)
        nn.init.normal_(self.embeddings.position_embedding.weight, std=0.02)
        for layer in self.encoder.layers:
            attention, mlp = layer.self_attn, layer.mlp
            for linear, std in ((attention.q_proj, in_std), (attention.k_proj, in_std), (attention.v_proj, in_std),
                                (attention.out_proj, width ** -0.5), (mlp.fc1, (2 * width) ** -0.5),
                                (mlp.fc2, in_std)):
                nn.init.normal_(linear.weight, std=std)
                nn.init.zeros_(linear.bias)

    def forward(self, input_ids: torch.Tensor, output_hidden_states: bool = True,
                return_dict: bool = True) -> TextModelOutput:
        """The tower's outputs for [batch, tokens] ids (the flags are accepted for transformers' callers)."""
        ids = input_ids.reshape(-1, input_ids.shape[-1])
        x = self.embeddings(ids)
        hidden_states = [x]
        for layer in self.encoder.layers:
            x = layer(x)
            hidden_states.append(x)
        last = self.final_layer_norm(x)
        rows = torch.arange(last.shape[0], device=last.device)
        first_end = (ids.to(device=last.device, dtype=torch.int) == self.end_token).int().argmax(dim=-1)
        return TextModelOutput(hidden_states=tuple(hidden_states), last_hidden_state=last,
                               pooler_output=last[rows, first_end])
