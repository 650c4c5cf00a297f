"""ComfyUI's `comfy.cli_args`: `args` (ComfyUI's command-line flags by name) and `LatentPreviewMethod`.

Packs read flags such as `args.preview_method`, `args.cpu`, `args.lowvram` or `args.disable_metadata`.
latentgraph parses no ComfyUI command line: `args` starts with ComfyUI's defaults and `bind(runtime)`
fills what latentgraph's own flags decide (device, memory policy, preview method, metadata, folders;
`listen`/`port` when the server passes them). `bound_runtime()` is the runtime bound last, which
comfy.model_management answers from outside a running node. Importing this module imports no torch.
"""

from __future__ import annotations

import argparse
import enum
from typing import Any


class LatentPreviewMethod(enum.Enum):
    """How live previews are made (ComfyUI's values)."""

    NoPreviews = "none"
    Auto = "auto"
    Latent2RGB = "latent2rgb"
    TAESD = "taesd"

    @classmethod
    def from_string(cls, value: str) -> LatentPreviewMethod | None:
        for member in cls:
            if member.value == value:
                return member
        return None


class PerformanceFeature(enum.Enum):
    Fp16Accumulation = "fp16_accumulation"
    Fp8MatrixMultiplication = "fp8_matrix_mult"
    CublasOps = "cublas_ops"
    AutoTune = "autotune"


def comfyui_defaults() -> argparse.Namespace:
    """ComfyUI's flags at their defaults (the ones packs are seen to read, and the common rest)."""
    flags: dict[str, Any] = {
        "listen": "127.0.0.1", "port": 8188, "tls_keyfile": None, "tls_certfile": None, "enable_cors_header": None,
        "max_upload_size": 100.0, "base_directory": None, "extra_model_paths_config": None,
        "output_directory": None, "temp_directory": None, "input_directory": None, "user_directory": None,
        "auto_launch": False, "disable_auto_launch": False, "cuda_device": None, "default_device": None,
        "cuda_malloc": False, "disable_cuda_malloc": False, "force_fp32": False, "force_fp16": False,
        "fp32_unet": False, "fp64_unet": False, "bf16_unet": False, "fp16_unet": False,
        "fp8_e4m3fn_unet": False, "fp8_e5m2_unet": False, "fp8_e8m0fnu_unet": False,
        "fp16_vae": False, "fp32_vae": False, "bf16_vae": False, "cpu_vae": False,
        "fp8_e4m3fn_text_enc": False, "fp8_e5m2_text_enc": False, "fp16_text_enc": False,
        "fp32_text_enc": False, "bf16_text_enc": False, "force_channels_last": False, "directml": None,
        "oneapi_device_selector": None, "disable_ipex_optimize": False, "supports_fp8_compute": False,
        "preview_method": LatentPreviewMethod.NoPreviews, "preview_size": 512,
        "cache_classic": False, "cache_lru": 0, "cache_none": False, "cache_ram": 0.0,
        "use_split_cross_attention": False, "use_quad_cross_attention": False,
        "use_pytorch_cross_attention": True, "use_sage_attention": False, "use_flash_attention": False,
        "disable_xformers": True, "force_upcast_attention": False, "dont_upcast_attention": False,
        "gpu_only": False, "highvram": False, "normalvram": False, "lowvram": False, "novram": False,
        "cpu": False, "reserve_vram": None, "async_offload": None, "disable_async_offload": False,
        "force_non_blocking": False, "default_hashing_function": "sha256", "disable_smart_memory": False,
        "deterministic": False, "fast": set(), "mmap_torch_files": False, "disable_mmap": False,
        "dont_print_server": False, "quick_test_for_ci": False, "windows_standalone_build": False,
        "disable_metadata": False, "disable_all_custom_nodes": False, "whitelist_custom_nodes": [],
        "disable_api_nodes": False, "multi_user": False, "verbose": "INFO", "log_stdout": False,
        "front_end_version": "comfyanonymous/ComfyUI@latest", "front_end_root": None,
        "enable_compress_response_body": False, "comfy_api_base": "https://api.comfy.org",
        "database_url": None, "enable_manager": False,
    }
    return argparse.Namespace(**flags)


args = comfyui_defaults()
_runtime: Any = None

# latentgraph's memory policy (nodes/api/runtime.py MEMORY_POLICIES) -> ComfyUI's flag.
_MEMORY_FLAGS = {"normal": "normalvram", "high": "highvram", "low": "lowvram", "none": "novram"}


def bind(runtime: Any, *, listen: str | None = None, port: int | None = None) -> argparse.Namespace:
    """Fill `args` from a NodeRuntime's flags (and the server's address when given); returns `args`."""
    global _runtime
    _runtime = runtime
    fresh = comfyui_defaults()
    devices = getattr(runtime, "devices", None)
    if devices is not None:
        fresh.cpu = bool(devices.cpu)
        memory = getattr(devices, "memory", "normal")
        setattr(fresh, _MEMORY_FLAGS.get(memory, "normalvram"), True)
        precision = getattr(devices, "precision", "auto")
        fresh.force_fp32 = precision == "fp32"
        fresh.bf16_unet = precision == "bf16"
        fresh.fp16_unet = precision == "fp16"
        vae = getattr(devices, "vae_precision", "auto")
        fresh.fp32_vae, fresh.bf16_vae, fresh.fp16_vae = vae == "fp32", vae == "bf16", vae == "fp16"
        fresh.reserve_vram = getattr(devices, "reserve_vram_gb", None)
    method = getattr(runtime, "preview_method", None)
    if method is not None:
        fresh.preview_method = LatentPreviewMethod.from_string(method) or LatentPreviewMethod.Auto
    fresh.disable_metadata = bool(getattr(runtime, "disable_metadata", False))
    folders = getattr(runtime, "folders", None)
    if folders is not None:
        fresh.base_directory = str(folders.base_dir)
        fresh.output_directory = str(folders.output_dir)
        fresh.input_directory = str(folders.input_dir)
        fresh.temp_directory = str(folders.temp_dir)
        fresh.user_directory = str(folders.user_dir)
    if listen is not None:
        fresh.listen = listen
    if port is not None:
        fresh.port = int(port)
    vars(args).clear()
    vars(args).update(vars(fresh))  # the same object packs imported stays current
    return args


def bound_runtime() -> Any:
    """The runtime `bind` was given last (None before)."""
    return _runtime


def reset() -> None:
    """Back to ComfyUI's defaults with no runtime (tests)."""
    global _runtime
    _runtime = None
    vars(args).clear()
    vars(args).update(vars(comfyui_defaults()))
