"""Conv2d and Linear layers whose weights are reordered once for oneDNN, for CPU inference.

Eager `F.conv2d` / `F.linear` on the CPU hand oneDNN a plain weight, which it reorders into its
blocked layout on every call. For the UNet's deep levels (1280 channels on 4x4 or 8x8 latents)
that reorder costs more than the convolution itself. Measured at SD1.5's shapes (256x256, batch
2) on a 2-core AMX CPU: prepacked convolutions run 1.2-1.7x faster in bf16 channels-last; in fp32
1.5-3.3x faster at 1280 channels, ~0.9x at 320-640 (packing only those saved 0.3 of 2.2 GB and
no time: all are packed), the whole fp32 UNet ~2x; the wide GEGLU projections (out = 8x in)
1.3-1.6x faster in bf16. bf16 results are bit-identical, fp32 ones differ by accumulation order
only. Linears that are not wide gained nothing or lost, so only `GEGLU.proj` uses `PackedLinear`.

`PackedConv2d` / `PackedLinear` are `nn.Conv2d` / `nn.Linear` (same parameters, same state-dict
keys) that cast an input of another float dtype to their weight's (the bf16 UNet's fp32 activations,
blocks.py). A model's layers run packed only once `enable_weight_packing(model)` turned them on, which
the loaders do when a UNet is loaded (nodes/api/model_services.py: not under --lowvram/--novram, not
with `--no-weight-packing`); a layer built any other way is a plain layer. Decided at load, never
mid-run, so every call of a model takes the same path: packed fp32 results differ from plain ones by
accumulation order (within ~110 dB), and a path chosen per call would make results depend on what
ran before. An enabled layer runs packed when it can: CPU tensors, float32 or bfloat16 for
convolutions (bfloat16 only for linears: fp32 gained too little), no autograd, zero padding, weights
that are not inference tensors (made under `torch.inference_mode`: no version counter), not while
`torch.compile` traces; anything else runs plain. The copy is made on first use and remade when the
weight changes (another tensor, an in-place edit, a LoRA swap) or the input shape does; a weight
made anew for every call is packed for that call and not kept (see `_PackedWeight`). Cost: one
extra copy of each packed weight while the model is alive (`packed_bytes` counts them,
`packable_bytes` what they will take, which the memory planner counts with the model;
`release_packed_weights` drops them). Unless the plain weights moved to files on disk: with `file_dir`,
`enable_weight_packing` moves each packable layer's plain weight into an unnamed file there
(diffusion/memory/file_backed.py) — still a normal tensor for everything that reads or edits it — and a
layer drops that file's pages from memory once it has packed from it, so the packed copy takes the plain
weight's place in memory instead of sitting beside it.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from diffusion.memory.file_backed import FileMapping, disk_directory, mapping_of, to_file_backed

_CONV_DTYPES = (torch.float32, torch.bfloat16)
_LINEAR_DTYPES = (torch.bfloat16,)


def packing_available() -> bool:
    """True when this torch build has the oneDNN ops the packed path needs."""
    ops = torch.ops.mkldnn
    return (torch.backends.mkldnn.is_available() and hasattr(ops, "_convolution_pointwise")
            and hasattr(ops, "_linear_pointwise") and hasattr(ops, "_reorder_linear_weight")
            and hasattr(torch._C._nn, "mkldnn_reorder_conv2d_weight"))


_AVAILABLE: list[bool] = []  # packing_available(), asked once


def _available() -> bool:
    if not _AVAILABLE:
        _AVAILABLE.append(packing_available())
    return _AVAILABLE[0] and torch.backends.mkldnn.enabled


class _PackedWeight:
    """The packed copy of a layer's weight for one input key, reused while the weight is unchanged.

    The packed entry keeps the plain weight referenced, so that its storage (and so its address)
    cannot be reused by another tensor while the copy is cached; address + version then identify
    it. A layer whose packed copy is replaced before it was ever reused (weights made anew for
    every forward, as ModelComputeDtype's per-call casts are) still runs packed, but keeps a copy
    only from a weight's second use, noted by address, version, shape, dtype and input key (no
    reference kept), so such weights do not hold a copy that is never used again.
    """

    packing = False  # turned on per model by enable_weight_packing, at load
    _packed: tuple | None = None  # (plain weight, its version, input key, packed weight)
    _hits = 0  # uses of the current packed copy after the one that made it
    _churning = False  # a packed copy was replaced unused: keep a copy only from a weight's second use
    _seen: tuple | None = None  # (address, version, shape, dtype, input key) of a weight used once
    _file_mapping: FileMapping | None = None  # the file the plain weight was moved into (enable_weight_packing)

    def __getstate__(self):
        """Copies and pickles leave the packed copy out (an opaque oneDNN tensor cannot be copied); it is remade."""
        state = dict(super().__getstate__())
        for name in ("_packed", "_hits", "_churning", "_seen", "_file_mapping"):
            state.pop(name, None)
        return state

    def _apply(self, fn, recurse=True):
        """`.to()`, `.cuda()`, `.half()` and the like drop the packed copy first: it pinned the old plain
        weight (and so its memory) and would be stale anyway."""
        self._packed, self._seen, self._churning = None, None, False
        result = super()._apply(fn, recurse)
        if self._file_mapping is not None and not self._file_mapping.holds(self.weight):
            self._file_mapping = None  # the weight is a new tensor now (another device or dtype)
        return result

    def _in_file(self) -> bool:
        """Whether the plain weight lives in a file (moved there by `enable_weight_packing`, or with its whole
        model by the model manager)."""
        return mapping_of(self.weight) is not None

    def _cached_pack(self, weight: torch.Tensor, key: tuple, pack) -> torch.Tensor:
        """The packed weight for `key`: the cached copy while the weight is unchanged, else a new one.

        Every eligible call runs packed (whatever ran before: the packed kernels' accumulation order
        differs from the plain ones' in fp32); caching only decides whether a new copy is kept."""
        cached = self._packed
        if (cached is not None and cached[0].data_ptr() == weight.data_ptr() and cached[1] == weight._version
                and cached[0].shape == weight.shape and cached[0].dtype == weight.dtype and cached[2] == key):
            self._hits += 1
            return cached[3]
        if cached is not None and self._hits == 0:
            self._churning = True
        self._packed = None  # drop the old copy before making a new one
        with torch.no_grad():
            plain = weight.detach()
            packed = pack(plain)
        mapping = mapping_of(plain)
        if mapping is not None:
            mapping.drop_resident_pages()  # packing read the file's pages in: the packed copy replaces them
        if self._churning:
            identity = (weight.data_ptr(), weight._version, tuple(weight.shape), weight.dtype, key)
            if self._seen != identity:  # keep a copy of a churning weight only from its second use
                self._seen = identity
                return packed
            self._seen = None
        self._packed, self._hits = (plain, weight._version, key, packed), 0
        return packed


def _plain_cpu_inference(x: torch.Tensor, layer: nn.Module, dtypes: tuple) -> bool:
    if torch.compiler.is_compiling():  # a compiled model (TorchCompileModel) packs in its own way
        return False
    weight, bias = layer.weight, layer.bias
    return (
        x.device.type == "cpu" and weight.device.type == "cpu" and x.layout == torch.strided
        and x.dtype in dtypes and weight.dtype == x.dtype and (bias is None or bias.dtype == x.dtype)
        and not (torch.is_grad_enabled() and (x.requires_grad or weight.requires_grad))
        and not weight.is_inference()  # an inference tensor has no version counter: edits would go unseen
        and layer.packing and _available()
    )


class PackedConv2d(_PackedWeight, nn.Conv2d):
    """`nn.Conv2d` running on a once-reordered oneDNN weight for CPU inference (see the module docstring)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = _to_weight_dtype(x, self.weight)
        if not (x.dim() == 4 and (x.is_contiguous() or _is_channels_last(x)) and self.padding_mode == "zeros"
                and not isinstance(self.padding, str) and _plain_cpu_inference(x, self, _CONV_DTYPES)):
            return super().forward(x)
        padding, stride, dilation = list(self.padding), list(self.stride), list(self.dilation)
        key = (tuple(x.shape), _is_channels_last(x))
        packed = self._cached_pack(self.weight, key, lambda w: torch._C._nn.mkldnn_reorder_conv2d_weight(
            w.contiguous().to_mkldnn(), padding, stride, dilation, self.groups, list(x.shape)))
        return torch.ops.mkldnn._convolution_pointwise(
            x, packed, self.bias, padding, stride, dilation, self.groups, "none", [], "",
        )


class PackedLinear(_PackedWeight, nn.Linear):
    """`nn.Linear` running on a once-reordered oneDNN weight for bf16 CPU inference (see the module docstring)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = _to_weight_dtype(x, self.weight)
        if not (x.dim() >= 2 and x.is_contiguous() and _plain_cpu_inference(x, self, _LINEAR_DTYPES)):
            return super().forward(x)
        rows = x.numel() // x.shape[-1]
        packed = self._cached_pack(self.weight, (rows,),
                                   lambda w: torch.ops.mkldnn._reorder_linear_weight(w.contiguous(), rows))
        return torch.ops.mkldnn._linear_pointwise(x, packed, self.bias, "none", [], "")


def _to_weight_dtype(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """The input in the weight's dtype: the UNet's blocks take wider activations than their weights (blocks.py)."""
    return x if x.dtype == weight.dtype or not x.is_floating_point() else x.to(weight.dtype)


def _is_channels_last(x: torch.Tensor) -> bool:
    return x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous()


def enable_weight_packing(module: nn.Module, enabled: bool = True, *, file_dir: str | Path | None = None) -> int:
    """Turn packing on (or off, dropping the copies) for every packed layer of `module`; returns how many
    layers there are. Call it when a model is loaded, before its first run (see the module docstring).

    With `file_dir` (a directory on a disk), the plain weights of the layers that will run packed move into
    files there, so that once packed they no longer take memory beside their packed copies; where that is
    not possible (no such directory, a full disk, a small weight) they stay in memory."""
    layers = [layer for layer in module.modules() if isinstance(layer, _PackedWeight)]
    for layer in layers:
        layer.packing = bool(enabled)
    if not enabled:
        release_packed_weights(module)
    directory = disk_directory(file_dir) if enabled and file_dir is not None else None
    if directory is not None and _available():
        for layer in layers:
            if _will_pack(layer) and not layer._in_file():
                moved = to_file_backed(layer.weight.detach(), directory)
                if moved is not None:
                    layer.weight.data, layer._file_mapping = moved
    return len(layers)


def _will_pack(layer: _PackedWeight) -> bool:
    """Whether an enabled layer's weight (device, dtype, kind) runs packed."""
    weight = layer.weight
    dtypes = _CONV_DTYPES if isinstance(layer, nn.Conv2d) else _LINEAR_DTYPES
    return layer.packing and weight.device.type == "cpu" and weight.dtype in dtypes and not weight.is_inference()


def packable_bytes(module: nn.Module) -> int:
    """Bytes the packed copies of `module`'s enabled layers add once it has run (the memory planner counts
    them with the model): the weights whose device, dtype and kind run packed, except those whose plain
    weight lives in a file (their packed copy takes its place in memory)."""
    if not _available():
        return 0
    return sum(layer.weight.numel() * layer.weight.element_size() for layer in module.modules()
               if isinstance(layer, _PackedWeight) and _will_pack(layer) and not layer._in_file())


def packed_bytes(module: nn.Module) -> int:
    """Bytes held by the packed copies of `module`'s layers (each about the size of its plain weight)."""
    total = 0
    for layer in module.modules():
        if isinstance(layer, _PackedWeight) and layer._packed is not None:
            plain = layer._packed[0]
            total += plain.numel() * plain.element_size()
    return total


def release_packed_weights(module: nn.Module) -> int:
    """Drop the packed weight copies held by `module`'s packed layers; returns how many were dropped."""
    dropped = 0
    for layer in module.modules():
        if isinstance(layer, _PackedWeight) and layer._packed is not None:
            layer._packed = None
            dropped += 1
        if isinstance(layer, _PackedWeight):
            layer._seen, layer._churning = None, False
    return dropped


__all__ = ["PackedConv2d", "PackedLinear", "enable_weight_packing", "packable_bytes",
           "packed_bytes", "packing_available", "release_packed_weights"]
