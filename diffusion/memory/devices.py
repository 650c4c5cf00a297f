"""Choosing the compute device and precisions (CUDA, MPS, CPU).

`choose_devices(cpu=False, precision="auto")` returns a `DeviceChoice`: the device the
models run on, the dtype for the UNet, for the text encoders and for the VAE, and the
offload device models rest on when evicted. Rules:

- device: CUDA if available, else Apple MPS, else CPU; `cpu=True` (the `--cpu` flag) forces
  CPU;
- precision "auto": on CUDA bf16 where the GPU supports it, else fp16; on MPS fp16; on CPU
  fp32. "fp32", "fp16", "bf16" force it (fp16 on CPU is refused: its CPU kernels are slow
  or missing — use bf16 or fp32);
- the VAE runs in bf16 on a CUDA GPU that has it, else fp32 (fp16 SD VAEs overflow into NaNs);
- text encoders follow the UNet precision on GPU and stay fp32 on CPU unless bf16 is asked.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass

import psutil
import torch

from diffusion.memory.libc import libc_function

PRECISIONS = ("auto", "fp32", "fp16", "bf16")
_DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


@dataclass(frozen=True)
class DeviceChoice:
    """Where and in which precisions the models run."""

    device: torch.device
    unet_dtype: torch.dtype
    text_encoder_dtype: torch.dtype
    vae_dtype: torch.dtype
    offload_device: torch.device = torch.device("cpu")
    pack_cpu_weights: bool = False  # UNet weights packed for oneDNN at load (diffusion/models/unet/prepacked.py)
    weight_file_dir: str | None = None  # where packed layers' plain weights move to files (None: kept in memory)
    compile_mode: str | None = None  # UNets run through torch.compile (inductor) in this mode (--compile-unet)

    def describe(self) -> str:
        names = {v: k for k, v in _DTYPES.items()}
        return (
            f"{device_name(self.device)}: unet {names[self.unet_dtype]}, "
            f"text encoders {names[self.text_encoder_dtype]}, vae {names[self.vae_dtype]}"
        )


def mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def choose_device(cpu: bool = False) -> torch.device:
    """CUDA, else MPS, else CPU; `cpu=True` forces the CPU."""
    if cpu:
        return torch.device("cpu")
    if torch.cuda.is_available():
        return torch.device("cuda", torch.cuda.current_device())
    if mps_available():
        return torch.device("mps")
    return torch.device("cpu")


def bf16_supported(device: torch.device) -> bool:
    if device.type == "cuda":
        return bool(torch.cuda.is_bf16_supported())
    return device.type == "cpu"


def choose_dtype(device: torch.device, precision: str = "auto") -> torch.dtype:
    """The UNet compute dtype for `device` under a precision option (see module docstring)."""
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}")
    if precision == "auto":
        if device.type == "cuda":
            return torch.bfloat16 if bf16_supported(device) else torch.float16
        if device.type == "mps":
            return torch.float16
        return torch.float32
    dtype = _DTYPES[precision]
    if device.type == "cpu" and dtype == torch.float16:
        raise ValueError("fp16 is not supported on the CPU; use --precision fp32 or bf16")
    if dtype == torch.bfloat16 and not bf16_supported(device):
        raise ValueError(f"bf16 is not supported on this {device.type} device; use fp16 or fp32")
    return dtype


def choose_devices(cpu: bool = False, precision: str = "auto") -> DeviceChoice:
    """The full device/precision decision for a run."""
    device = choose_device(cpu)
    unet_dtype = choose_dtype(device, precision)
    text_dtype = unet_dtype  # on CPU: fp32, or bf16 when asked
    vae_dtype = torch.bfloat16 if device.type == "cuda" and bf16_supported(device) else torch.float32
    return DeviceChoice(device, unet_dtype, text_dtype, vae_dtype)


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda:{device.index or 0} {torch.cuda.get_device_name(device)}"
    return device.type


def total_memory(device: torch.device) -> int:
    """Bytes of memory the device has (system RAM for CPU and MPS)."""
    if device.type == "cuda":
        return int(torch.cuda.get_device_properties(device).total_memory)
    return int(psutil.virtual_memory().total)


def free_memory(device: torch.device) -> int:
    """Bytes currently free on the device (available system RAM for CPU and MPS)."""
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return int(free)
    return int(psutil.virtual_memory().available)


def empty_cache(device: torch.device) -> None:
    """Give cached allocator blocks back to the device (on a Linux CPU: glibc's free heap pages back to the
    system, `malloc_trim`; freed model copies otherwise stay in the process's resident memory)."""
    if device.type == "cuda":
        torch.cuda.empty_cache()
    elif device.type == "mps" and hasattr(torch, "mps"):
        torch.mps.empty_cache()
    elif device.type == "cpu":
        _trim_c_heap()


def _trim_c_heap() -> None:
    malloc_trim = libc_function("malloc_trim", (ctypes.c_size_t,))  # glibc only (musl has none)
    if malloc_trim is not None:
        malloc_trim(0)
