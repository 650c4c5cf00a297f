"""ComfyUI's `comfy.model_management` for custom node packs, answered by latentgraph's device decision.

Devices and dtypes come from the runtime's one decision (nodes/api/model_services.py): the runtime
of the node that is running (graph/running.py), else the runtime `comfy.cli_args.bind` was given,
else a decision from ComfyUI's defaults. `load_models_gpu` goes through the model manager, so a
pack's model counts in the same memory budget as ours. Interruption is the running prompt's own
token: `processing_interrupted()` is True while an interrupt is pending for it, and
`throw_exception_if_processing_interrupted()` raises `InterruptProcessingException`, a subclass
of graph.context.Interrupted, so the executor ends the prompt as interrupted.

`cpu_state`, `vram_state` and `total_vram` are read when asked (module `__getattr__`), so they
follow the flags the runtime was built with.
"""

from __future__ import annotations

import enum
import functools
from typing import Any

import torch

from diffusion.memory import devices as _devices
from diffusion.memory.patcher import ModelPatcher, module_size_bytes
from graph.context import Interrupted, InterruptToken
from graph.running import running_node
from nodes.compat.comfy import cli_args

OOM_EXCEPTION = torch.OutOfMemoryError


class CPUState(enum.Enum):
    GPU = 0
    CPU = 1
    MPS = 2


class VRAMState(enum.Enum):
    DISABLED = 0
    NO_VRAM = 1
    LOW_VRAM = 2
    NORMAL_VRAM = 3
    HIGH_VRAM = 4
    SHARED = 5


class InterruptProcessingException(Interrupted):
    """Raised when the prompt was interrupted; the executor reports it as an interruption."""


_MEMORY_STATES = {"normal": VRAMState.NORMAL_VRAM, "high": VRAMState.HIGH_VRAM, "low": VRAMState.LOW_VRAM,
                  "none": VRAMState.NO_VRAM}
# Interrupt flag for code running outside any prompt (a pack's own thread, a test).
_idle_token = InterruptToken()


def _runtime() -> Any:
    context = running_node()
    runtime = getattr(context, "runtime", None) if context is not None else None
    if runtime is not None and hasattr(runtime, "models"):
        return runtime
    bound = cli_args.bound_runtime()
    return bound if bound is not None and hasattr(bound, "models") else None


@functools.lru_cache(maxsize=1)
def _default_choice():
    from nodes.api.model_services import resolve_device_choice

    return resolve_device_choice(cpu=bool(cli_args.args.cpu))


def _choice():
    runtime = _runtime()
    return runtime.models.choice if runtime is not None else _default_choice()


def _device(dev: Any = None) -> torch.device:
    return get_torch_device() if dev is None else torch.device(dev)


# --- devices and dtypes -----------------------------------------------------------------------


def get_torch_device() -> torch.device:
    """The compute device of this process (CUDA, MPS or CPU, as latentgraph decided)."""
    return _choice().device


def intermediate_device() -> torch.device:
    """Where nodes keep results between nodes: the CPU, as in ComfyUI unless --gpu-only."""
    return torch.device("cpu")


def unet_offload_device() -> torch.device:
    return _choice().offload_device


def unet_inital_load_device(parameters: int = 0, dtype: Any = None) -> torch.device:
    return unet_offload_device()


def text_encoder_device() -> torch.device:
    return _choice().device


def text_encoder_offload_device() -> torch.device:
    return _choice().offload_device


def vae_device() -> torch.device:
    return _choice().device


def vae_offload_device() -> torch.device:
    return _choice().offload_device


def unet_dtype(device: Any = None, model_params: int = 0, supported_dtypes: Any = None,
               weight_dtype: Any = None) -> torch.dtype:
    return _choice().unet_dtype


def unet_manual_cast(weight_dtype: Any, inference_device: Any, supported_dtypes: Any = None) -> None:
    """None: latentgraph's models compute in their weight dtype (no manual casting)."""
    return None


def text_encoder_dtype(device: Any = None) -> torch.dtype:
    return _choice().text_encoder_dtype


def vae_dtype(device: Any = None, allowed_dtypes: Any = ()) -> torch.dtype:
    return _choice().vae_dtype


def is_device_type(device: Any, kind: str) -> bool:
    return getattr(device, "type", None) == kind or (isinstance(device, str) and device.split(":")[0] == kind)


def is_device_cpu(device: Any) -> bool:
    return is_device_type(device, "cpu")


def is_device_mps(device: Any) -> bool:
    return is_device_type(device, "mps")


def is_device_cuda(device: Any) -> bool:
    return is_device_type(device, "cuda")


def get_autocast_device(dev: Any) -> str:
    return getattr(dev, "type", "cuda")


def should_use_fp16(device: Any = None, model_params: int = 0, prioritize_performance: bool = True,
                    manual_cast: bool = False) -> bool:
    """True when the UNet runs in fp16 on `device` (the compute device when None)."""
    return _device(device).type != "cpu" and _choice().unet_dtype == torch.float16


def should_use_bf16(device: Any = None, model_params: int = 0, prioritize_performance: bool = True,
                    manual_cast: bool = False) -> bool:
    return _choice().unet_dtype == torch.bfloat16 and _devices.bf16_supported(_device(device))


def supports_dtype(device: Any, dtype: torch.dtype) -> bool:
    device = _device(device)
    if dtype == torch.float16:
        return device.type != "cpu"
    if dtype == torch.bfloat16:
        return _devices.bf16_supported(device)
    return True


def device_supports_non_blocking(device: Any) -> bool:
    return is_device_cuda(device)


def xformers_enabled() -> bool:
    return False


def xformers_enabled_vae() -> bool:
    return False


def pytorch_attention_enabled() -> bool:
    return True


def pytorch_attention_flash_attention() -> bool:
    return is_device_cuda(get_torch_device())


def directml_enabled() -> bool:
    return False


def is_intel_xpu() -> bool:
    return False


def is_nvidia() -> bool:
    return is_device_cuda(get_torch_device())


def cast_to(weight: torch.Tensor, dtype: Any = None, device: Any = None, non_blocking: bool = False,
            copy: bool = False) -> torch.Tensor:
    return weight.to(device=device, dtype=dtype, non_blocking=non_blocking, copy=copy)


def cast_to_device(tensor: torch.Tensor, device: Any, dtype: Any, copy: bool = False) -> torch.Tensor:
    return tensor.to(device=device, dtype=dtype, copy=copy)


def module_size(module: torch.nn.Module) -> int:
    """Bytes of a module's parameters and buffers."""
    return module_size_bytes(module)


# --- memory and loading -----------------------------------------------------------------------


def _patcher_of(model: Any) -> ModelPatcher:
    if isinstance(model, ModelPatcher):
        return model
    for name in ("patcher", "_patcher", "inner", "model_patcher"):
        inner = getattr(model, name, None)
        if isinstance(inner, ModelPatcher):
            return inner
    raise TypeError(f"comfy.model_management.load_models_gpu: {type(model).__name__} is not a model latentgraph "
                    "manages (it takes the MODEL handles that latentgraph's loaders return)")


def load_models_gpu(models: Any, memory_required: int = 0, force_patch_weights: bool = False,
                    minimum_memory_required: int | None = None, force_full_load: bool = False) -> None:
    """Puts these models on the compute device through latentgraph's model manager, leaving
    `memory_required` bytes for the computation."""
    patchers = [_patcher_of(model) for model in models]
    runtime = _runtime()
    if runtime is None:
        for patcher in patchers:
            patcher.move_to(get_torch_device())
        return
    runtime.models.load(patchers, work_bytes=int(memory_required or 0))


def load_model_gpu(model: Any) -> None:
    load_models_gpu([model])


def loaded_models(only_currently_used: bool = False) -> list:
    runtime = _runtime()
    return list(runtime.models.manager.loaded()) if runtime is not None else []


def free_memory(memory_required: int, device: Any, keep_loaded: Any = ()) -> None:
    """Evicts least recently used models until `memory_required` bytes are free."""
    runtime = _runtime()
    if runtime is not None:
        runtime.models.manager.free_memory(int(memory_required), keep=[_patcher_of(m) for m in keep_loaded])


def unload_all_models() -> None:
    runtime = _runtime()
    if runtime is not None:
        runtime.models.manager.unload_all()


def cleanup_models(keep_clone_weights_loaded: bool = False) -> None:
    """Nothing to do: the model manager forgets models whose handles are gone."""


def soft_empty_cache(force: bool = False) -> None:
    _devices.empty_cache(get_torch_device())


def get_free_memory(dev: Any = None, torch_free_too: bool = False) -> int | tuple[int, int]:
    """Free bytes on `dev` (the compute device when None); with torch_free_too also the bytes free in
    torch's own cache (equal to the first on the CPU)."""
    device = _device(dev)
    free = _devices.free_memory(device)
    if not torch_free_too:
        return free
    if device.type == "cuda":
        torch_free = torch.cuda.memory_reserved(device) - torch.cuda.memory_allocated(device)
        return free + torch_free, torch_free
    return free, free


def get_total_memory(dev: Any = None, torch_total_too: bool = False) -> int | tuple[int, int]:
    device = _device(dev)
    total = _devices.total_memory(device)
    if not torch_total_too:
        return total
    torch_total = torch.cuda.memory_reserved(device) if device.type == "cuda" else total
    return total, torch_total


def maximum_vram_for_weights(device: Any = None) -> int:
    return int(get_total_memory(device) * 0.88)


# --- interruption -----------------------------------------------------------------------------


def _token() -> InterruptToken:
    context = running_node()
    return context.interrupt if context is not None else _idle_token


def interrupt_current_processing(value: bool = True) -> None:
    """Ask the running prompt to stop (value False withdraws the request)."""
    if value:
        _token().set()
    else:
        _token().clear()


def processing_interrupted() -> bool:
    """True while an interrupt is pending for the running prompt."""
    return _token().is_set()


def throw_exception_if_processing_interrupted() -> None:
    """Raises InterruptProcessingException when the running prompt was interrupted."""
    if _token().is_set():
        raise InterruptProcessingException("Processing interrupted")


# --- states that follow the flags ----------------------------------------------------------------


def _cpu_state() -> CPUState:
    device = get_torch_device()
    return CPUState.MPS if device.type == "mps" else CPUState.CPU if device.type == "cpu" else CPUState.GPU


def _vram_state() -> VRAMState:
    if _cpu_state() is not CPUState.GPU:
        return VRAMState.DISABLED if _cpu_state() is CPUState.CPU else VRAMState.SHARED
    runtime = _runtime()
    memory = getattr(getattr(runtime, "devices", None), "memory", None)
    if memory is None:
        memory = next((m for m, flag in (("high", "highvram"), ("low", "lowvram"), ("none", "novram"))
                       if getattr(cli_args.args, flag, False)), "normal")
    return _MEMORY_STATES.get(memory, VRAMState.NORMAL_VRAM)


def __getattr__(name: str) -> Any:
    if name == "cpu_state":
        return _cpu_state()
    if name in ("vram_state", "set_vram_to"):
        return _vram_state()
    if name == "total_vram":
        return get_total_memory() / (1024 * 1024)
    if name == "total_ram":
        return _devices.total_memory(torch.device("cpu")) / (1024 * 1024)
    raise AttributeError(f"module 'comfy.model_management' has no attribute {name!r}: latentgraph provides "
                         "ComfyUI's device, dtype, memory and interrupt functions, and this is not one of them")
