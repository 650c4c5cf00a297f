"""ModelComputeDtype and TorchCompileModel: how the diffusion model computes (diffusion/models/unet/compute.py).

Each returns a clone of the model handle with `compute_dtype` / `compile_backend` set; the
input handle and the shared weights are unchanged.
"""

from __future__ import annotations

from typing import Any

from nodes.api.declare import Combo, Node, Out, Socket
from nodes.api.lazy import lazy_import

compute = lazy_import("diffusion.models.unet.compute")

DTYPES = ["default", "fp32", "fp16", "bf16"]
BACKENDS = ["inductor", "cudagraphs"]


def _handle(model: Any, node: str) -> Any:
    if not callable(getattr(model, "clone", None)) or not hasattr(model, "compute_dtype"):
        raise TypeError(f"{node}: input 'model' must be a MODEL (a model handle), got {type(model).__name__}")
    return model.clone()


class ModelComputeDtype(Node):
    node_id = "ModelComputeDtype"
    display_name = "ModelComputeDtype"
    category = "advanced/debug/model"
    description = "Runs the diffusion model with its weights cast to the chosen dtype (default: as loaded)."
    inputs = [Socket("MODEL", "model"), Combo("dtype", DTYPES)]
    outputs = [Out("MODEL")]

    @classmethod
    def run(cls, ctx: Any, *, model: Any, dtype: str) -> tuple:
        if dtype not in DTYPES:
            raise ValueError(f"{cls.node_id}: input 'dtype' must be one of {', '.join(DTYPES)}, got {dtype!r}")
        patched = _handle(model, cls.node_id)
        patched.compute_dtype = compute.compute_dtype(dtype)
        return (patched,)


class TorchCompileModel(Node):
    node_id = "TorchCompileModel"
    category = "_for_testing"
    experimental = True
    description = "Runs the diffusion model through torch.compile with the chosen backend (compiled at first use)."
    inputs = [Socket("MODEL", "model"), Combo("backend", BACKENDS)]
    outputs = [Out("MODEL")]

    @classmethod
    def run(cls, ctx: Any, *, model: Any, backend: str) -> tuple:
        if backend not in BACKENDS:
            raise ValueError(f"{cls.node_id}: input 'backend' must be one of {', '.join(BACKENDS)}, got {backend!r}")
        patched = _handle(model, cls.node_id)
        problem = compute.compile_problem(backend, patched.load_device)
        if problem is not None:
            raise RuntimeError(f"{cls.node_id}: {problem}")
        patched.compile_backend = backend
        return (patched,)


NODES = [ModelComputeDtype, TorchCompileModel]
