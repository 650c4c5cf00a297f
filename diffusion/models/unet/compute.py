"""How a diffusion model computes: its compute dtype (ModelComputeDtype) and torch.compile backend (TorchCompileModel).

Both are set on a ModelPatcher clone (`compute_dtype`, `compile_backend`; diffusion/memory/patcher.py).
"""

from __future__ import annotations

import torch

COMPUTE_DTYPES = {"default": None, "fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
COMPILE_BACKENDS = ("inductor", "cudagraphs")


def compute_dtype(name: str) -> torch.dtype | None:
    """The dtype named by ModelComputeDtype's option (None for "default": the weights' own)."""
    if name not in COMPUTE_DTYPES:
        raise ValueError(f"unknown compute dtype {name!r}; expected one of {', '.join(COMPUTE_DTYPES)}")
    return COMPUTE_DTYPES[name]


def compile_problem(backend: str, device: torch.device) -> str | None:
    """Why `backend` cannot compile a model running on `device` here, or None when it can."""
    import torch._dynamo as dynamo

    if not dynamo.is_dynamo_supported():
        return "torch.compile is not supported by this Python or torch build"
    if backend not in dynamo.list_backends(exclude_tags=()):
        return f"torch.compile has no backend {backend!r} here (it has {', '.join(dynamo.list_backends())})"
    if backend == "cudagraphs" and torch.device(device).type != "cuda":
        return f"backend 'cudagraphs' needs a CUDA device; this model runs on {torch.device(device).type}"
    return None
