"""CLIPHandle: what the CLIP socket carries — tokenize, weight, encode, CLIP skip, SDXL dual encoders.

Behaviour follows ComfyUI (`comfy/sd1_clip.py`, `sd2_clip.py`, `sdxl_clip.py`):

| family         | encoders | pad token | default layer     | final LN on hidden layer |
|----------------|----------|-----------|-------------------|--------------------------|
| sd1            | l        | 49407     | last              | yes                      |
| sd2            | h        | 0         | penultimate (-2)  | yes                      |
| sdxl           | l, g     | 49407 / 0 | penultimate (-2)  | no                       |
| sdxl-refiner   | g        | 0         | penultimate (-2)  | no                       |

`set_clip_skip(n)` (ComfyUI's CLIPSetLastLayer `stop_at_clip_layer`, negative) replaces the
default layer of every encoder: -1 = last layer, -2 = penultimate, ...; beyond the depth it
falls back to the last layer. Weights are applied as (z − z_empty)·w + z_empty against the
encoding of an empty prompt, per token with w ≠ 1. Windows of 77 tokens are encoded and
concatenated along the token axis. The pooled output is taken from the last layer at the
first end token of the first window (projected for CLIP-G; SDXL pools from G only).

Encodings are returned as float32 on the CPU. The weights run wherever the encoders'
parameters are: a caller that wants them on the GPU asks the model manager to load
`handle.patchers()` first.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping

import torch

from diffusion.memory.patcher import ModelPatcher, swap_parameters
from diffusion.models.text.clip_text import (
    END_TOKEN,
    START_TOKEN,
    ClipTextEncoder,
    TextEncoderConfig,
    is_openclip_layout,
    openclip_to_hf,
    text_encoder_config_from_state_dict,
    text_encoder_from_weights,
    with_kind,
)
from diffusion.models.text.encoder_specs import FAMILY_ENCODERS, EncoderSpec, clip_family
from diffusion.models.text.prompt_weights import EmbeddingToken, TokenizedPrompt, empty_chunk, tokenize_prompt
from diffusion.models.text.textual_inversion import EmbeddingLibrary
from diffusion.models.text.tokenizer import ClipTokenizer, default_tokenizer

_TOKEN_EMBEDDING = "text_model.embeddings.token_embedding.weight"


class CLIPHandle:
    """Text encoders of one model family with their tokenizer, embeddings and CLIP-skip setting.

    Immutable in spirit: `clone()` before `set_clip_skip` or `add_patches` (as nodes do).
    """

    def __init__(
        self,
        family: str,
        encoders: Mapping[str, ModelPatcher],
        *,
        tokenizer: ClipTokenizer | None = None,
        embeddings: EmbeddingLibrary | None = None,
    ):
        self.family = clip_family(family)
        self.specs = FAMILY_ENCODERS[self.family]
        missing = [s.name for s in self.specs if s.name not in encoders]
        if missing:
            raise ValueError(f"{self.family} needs text encoders {[s.kind for s in self.specs]}, missing clip_{missing[0]}")
        self.encoders = dict(encoders)
        self.tokenizer = tokenizer or default_tokenizer()
        self.embeddings = embeddings
        self.clip_skip: int | None = None

    # --- handles ----------------------------------------------------------------------
    def clone(self) -> CLIPHandle:
        """A new handle sharing the encoder weights; patches and CLIP skip are copied."""
        other = CLIPHandle(
            self.family,
            {name: patcher.clone() for name, patcher in self.encoders.items()},
            tokenizer=self.tokenizer,
            embeddings=self.embeddings,
        )
        other.clip_skip = self.clip_skip
        return other

    def patchers(self) -> list[ModelPatcher]:
        """The encoders' patchers (for the model manager)."""
        return list(self.encoders.values())

    def set_clip_skip(self, stop_at_clip_layer: int) -> None:
        """Use the output of layer `stop_at_clip_layer` (-1 last, -2 penultimate, ...) in every encoder."""
        if isinstance(stop_at_clip_layer, bool) or not isinstance(stop_at_clip_layer, int) or stop_at_clip_layer >= 0:
            raise ValueError(f"stop_at_clip_layer must be a negative integer, got {stop_at_clip_layer!r}")
        self.clip_skip = stop_at_clip_layer

    def add_patches(self, patches_by_encoder: Mapping[str, Mapping[str, tuple]], strength: float, *, source: str = "") -> set[str]:
        """Add weight patches per encoder name ("l", "h", "g"); returns "name:param" keys applied."""
        applied = set()
        for name, patches in patches_by_encoder.items():
            if name in self.encoders:
                for key in self.encoders[name].add_patches(patches, strength, source=source):
                    applied.add(f"{name}:{key}")
        return applied

    def fingerprint(self) -> str:
        parts = [self.family, str(self.clip_skip)]
        parts += [f"{n}={p.fingerprint()}" for n, p in sorted(self.encoders.items())]
        return "|".join(parts)

    # --- tokenizing -------------------------------------------------------------------
    def tokenize(self, text: str) -> dict[str, TokenizedPrompt]:
        """Per encoder name, the weighted 77-token windows of `text`."""
        out = {}
        for spec in self.specs:
            width = self.encoders[spec.name].model.config.hidden_size
            out[spec.name] = tokenize_prompt(
                text, self.tokenizer, pad_token=spec.pad_token, embedding_lookup=self._lookup(width, spec.embedding_key)
            )
        return _equalise_windows(out, self._empty_windows())

    def _lookup(self, width: int, key: str):
        if self.embeddings is None:
            return None
        return lambda name: self.embeddings.vectors(name, width, key)

    def _empty_windows(self) -> dict[str, list[tuple[int, float]]]:
        t = self.tokenizer
        return {s.name: [(x, 1.0) for x in empty_chunk(t.start_token, t.end_token, s.pad_token)] for s in self.specs}

    # --- encoding ---------------------------------------------------------------------
    def encode(self, text: str) -> tuple[torch.Tensor, torch.Tensor | None]:
        """`(cond [1, 77·k, dim], pooled [1, dim] or None)` for a prompt (the same text for every encoder)."""
        return self.encode_tokens(self.tokenize(text))

    def encode_sdxl(self, text_g: str, text_l: str) -> tuple[torch.Tensor, torch.Tensor]:
        """SDXL base with separate prompts for CLIP-G and CLIP-L (CLIPTextEncodeSDXL)."""
        if self.family != "sdxl":
            raise ValueError(f"encode_sdxl needs an SDXL CLIP, this one is {self.family}")
        tokens = {"g": self.tokenize(text_g)["g"], "l": self.tokenize(text_l)["l"]}
        cond, pooled = self.encode_tokens(_equalise_windows(tokens, self._empty_windows()))
        return cond, pooled

    def encode_tokens(self, tokens: Mapping[str, TokenizedPrompt]) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Encode tokenized windows; SDXL concatenates l ‖ g features and pools from g."""
        results = {}
        for spec in self.specs:
            layer = self.clip_skip if self.clip_skip is not None else spec.default_layer
            results[spec.name] = encode_windows(self.encoders[spec.name], tokens[spec.name].chunks, spec, layer)
        if self.family == "sdxl":
            (l_cond, _), (g_cond, g_pooled) = results["l"], results["g"]
            return torch.cat([l_cond, g_cond], dim=-1), g_pooled
        return results[self.specs[0].name]


def _equalise_windows(tokens: dict[str, TokenizedPrompt], empty: dict[str, list]) -> dict[str, TokenizedPrompt]:
    """Pad every encoder's windows with empty windows to the same count (as CLIPTextEncodeSDXL does)."""
    if len(tokens) < 2:
        return tokens
    most = max(len(t.chunks) for t in tokens.values())
    for name, tokenized in tokens.items():
        while len(tokenized.chunks) < most:
            tokenized.chunks.append(list(empty[name]))
    return tokens


def encode_windows(
    patcher: ModelPatcher, chunks: list[list[tuple]], spec: EncoderSpec, layer: int | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Encode windows with one encoder; returns (cond [1, 77·k, dim] float32 CPU, pooled [1, d])."""
    encoder: ClipTextEncoder = patcher.model
    width = encoder.config.hidden_size
    weighted = any(weight != 1.0 for chunk in chunks for _, weight in chunk)
    rows: list[list[int]] = []
    extra_vectors: list[torch.Tensor] = []
    vocab = encoder.config.vocab_size
    for chunk in chunks:
        ids = []
        for token, _ in chunk:
            if isinstance(token, EmbeddingToken):
                if token.vector.shape[-1] != width:
                    continue  # a vector of another width cannot stand here; the window is padded instead
                ids.append(vocab + len(extra_vectors))
                extra_vectors.append(token.vector)
            else:
                ids.append(int(token))
        ids += [spec.pad_token] * (len(chunk) - len(ids))
        rows.append(ids)
    if weighted or not rows:
        rows.append(empty_chunk(START_TOKEN, END_TOKEN, spec.pad_token, len(rows[0]) if rows else 77))
    hidden, pooled = _run_encoder(patcher, torch.tensor(rows), extra_vectors, spec, layer)
    cond_windows = []
    empty_hidden = hidden[-1]
    for index, chunk in enumerate(chunks):
        z = hidden[index].clone()
        if weighted:
            weights = torch.tensor([w for _, w in chunk], dtype=z.dtype)
            changed = weights != 1.0
            z[changed] = (z[changed] - empty_hidden[changed]) * weights[changed, None] + empty_hidden[changed]
        cond_windows.append(z)
    if not cond_windows:
        cond_windows.append(empty_hidden)
    return torch.cat(cond_windows, dim=0).unsqueeze(0), pooled[0:1]


def _run_encoder(patcher, ids, extra_vectors, spec: EncoderSpec, layer: int | None):
    with patcher.patched() as encoder, torch.inference_mode():
        table = encoder.get_parameter(_TOKEN_EMBEDDING)
        device = table.device
        swapped = {}
        if extra_vectors:
            extended = torch.cat([table, torch.stack(extra_vectors).to(device=device, dtype=table.dtype)], dim=0)
            swapped = swap_parameters(encoder, {_TOKEN_EMBEDDING: extended})
        try:
            out = encoder(ids.to(device))
        finally:
            if swapped:
                swap_parameters(encoder, swapped)
        num_layers = encoder.config.num_layers
        if layer is None or abs(layer) > num_layers:
            hidden = out.last_hidden_state
        else:
            hidden = out.hidden_states[layer]
            if spec.layer_norm_hidden:
                hidden = encoder.text_model.final_layer_norm(hidden)
        pooled = out["text_embeds"] if "text_embeds" in out else out.pooler_output
        return hidden.float().cpu(), pooled.float().cpu()


# --- building handles from weights ------------------------------------------------------


Release = Callable[[str], None]


def build_encoder_patcher(
    state_dict: Mapping[str, torch.Tensor],
    *,
    kind: str | None = None,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
    load_device: torch.device | str | None = None,
    release: Release | None = None,
) -> ModelPatcher:
    """A ModelPatcher around a text encoder built from its weights (HF or OpenCLIP layout, prefix stripped).

    `dtype` None keeps the dtype of the file's weights; `device` is where the weights live.
    The encoder is built on the meta device and adopts the tensors: one already in `dtype` on
    `device` becomes the parameter itself (a memory-mapped file is shared, not copied); others
    are converted one at a time, and `release(key)` (a key of `state_dict`) is called once no
    parameter uses that source tensor, so a memory-mapped source can drop its pages.
    """
    sd, origins = _hf_layout_with_origins(state_dict)
    config: TextEncoderConfig = text_encoder_config_from_state_dict(sd)
    if dtype is None:
        dtype = sd[_TOKEN_EMBEDDING].dtype
    if kind is not None:
        config = with_kind(config, kind)
    releaser = _SourceReleaser(origins, release) if release is not None else None
    encoder = text_encoder_from_weights(config, sd, dtype=dtype, device=torch.device(device or "cpu"),
                                        on_converted=releaser.converted if releaser else None)
    return ModelPatcher(encoder, model_info={"text_encoder": config}, load_device=load_device or device,
                        offload_device=device)


Origins = dict[str, tuple[str, torch.Tensor]]


def _hf_layout_with_origins(state_dict: Mapping[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], Origins]:
    """The weights in the HF layout, and for each HF key the key and tensor of `state_dict` it was made from."""
    if not is_openclip_layout(state_dict):
        sd = dict(state_dict)
        return sd, {key: (key, tensor) for key, tensor in sd.items()}
    hf: dict[str, torch.Tensor] = {}
    origins: Origins = {}
    for key in state_dict:  # openclip_to_hf maps every key on its own, so converting one at a time is exact
        source = state_dict[key]
        for hf_key, tensor in openclip_to_hf({key: source}).items():
            hf[hf_key] = tensor
            origins[hf_key] = (key, source)
    return hf, origins


class _SourceReleaser:
    """Calls `release(source_key)` once every weight made from that source tensor has been
    converted, unless a parameter still uses the source's memory (a view such as OpenCLIP's
    q/k/v slices of `in_proj_weight` kept in the file's dtype)."""

    def __init__(self, origins: Origins, release: Release):
        self._origins = origins
        self._release = release
        self._pending: dict[str, int] = {}
        for origin, _ in origins.values():
            self._pending[origin] = self._pending.get(origin, 0) + 1
        self._still_used: set[str] = set()

    def converted(self, key: str, tensor: torch.Tensor) -> None:
        """Note that weight `key` now lives in `tensor`; release its source when nothing else needs it."""
        origin, source = self._origins[key]
        if _same_memory(tensor, source):
            self._still_used.add(origin)
        self._pending[origin] -= 1
        if self._pending[origin] == 0 and origin not in self._still_used:
            self._release(origin)


def _same_memory(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.device == b.device and a.untyped_storage().data_ptr() == b.untyped_storage().data_ptr()


def clip_handle_from_state_dicts(
    family: str,
    state_dicts: Mapping[str, Mapping[str, torch.Tensor]],
    *,
    embeddings_dirs: Iterable[str | os.PathLike] = (),
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
    load_device: torch.device | str | None = None,
    release: Mapping[str, Release] | None = None,
) -> CLIPHandle:
    """Build a CLIPHandle from per-encoder weights `{"l": sd, "g": sd}` (or `{"h": sd}`).

    `release` maps an encoder name to its source's page-dropping callable (see `build_encoder_patcher`).
    """
    specs = FAMILY_ENCODERS[clip_family(family)]
    patchers = {}
    for spec in specs:
        if spec.name not in state_dicts:
            raise ValueError(f"{family} needs weights for {spec.kind}")
        patchers[spec.name] = build_encoder_patcher(
            state_dicts[spec.name], kind=spec.kind, dtype=dtype, device=device, load_device=load_device,
            release=(release or {}).get(spec.name),
        )
    library = EmbeddingLibrary(embeddings_dirs) if embeddings_dirs else None
    return CLIPHandle(family, patchers, embeddings=library)
