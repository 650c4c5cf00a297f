"""Builds what every command needs: folders, runtime, and the node registry
(built-in nodes plus custom node packs), from the command-line flags."""

from __future__ import annotations

import argparse
import logging
from dataclasses import dataclass
from pathlib import Path

import psutil

from folders.flags import add_folder_arguments
from folders.layout import Folders
from graph.cache import LRUPolicy, OutputCache
from nodes.api.limits import DEFAULT_MAX_BATCH, DEFAULT_MAX_PIXELS, SizeLimits
from nodes.api.output_sizes import tensor_sizeof
from nodes.api.plugins import PluginReport
from nodes.api.registry import NodeRegistry
from nodes.api.runtime import COMPILE_MODES, DeviceRequest, NodeRuntime
from nodes.build import build_registry
from nodes.compat import core_nodes as compat_core_nodes

REPO_ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger("latentgraph")


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def positive_float(text: str) -> float:
    value = float(text)
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be zero or a positive number, got {text}")
    return value


def add_engine_arguments(parser: argparse.ArgumentParser) -> None:
    """Folder flags (ComfyUI's names) plus the switches that shape the registry."""
    add_folder_arguments(parser)
    parser.add_argument(
        "--disable-all-custom-nodes", action="store_true", help="load no packs from custom_nodes/"
    )
    parser.add_argument("--cpu", action="store_true", help="run everything on the CPU")
    parser.add_argument(
        "--precision",
        choices=("auto", "fp32", "bf16", "fp16"),
        default="auto",
        help="UNet precision: auto = bf16 on CPUs with native bf16 and fp16 on GPUs, else fp32",
    )
    parser.add_argument(
        "--vae-precision",
        choices=("auto", "fp32", "bf16", "fp16"),
        default="auto",
        help="VAE precision: auto = bf16 on GPUs that have it, else fp32 (an fp16 VAE that overflows is redone in fp32)",
    )
    parser.add_argument(
        "--no-weight-packing", dest="weight_packing", action="store_false",
        help="CPU: keep the UNet's weights unpacked (plain PyTorch: slower, one copy of the weights less; "
             "--lowvram and --novram imply it)",
    )
    parser.add_argument(
        "--compile-unet", nargs="?", const="default", choices=COMPILE_MODES, metavar="MODE",
        help="run every UNet through torch.compile (inductor), compiled at its first use; MODE: "
             + ", ".join(COMPILE_MODES) + " (reduce-overhead: CUDA graphs for a fixed shape)",
    )
    vram = parser.add_mutually_exclusive_group()
    for flag, policy, what in (
        ("--normalvram", "normal", "keep models on the GPU until the room is needed; stream a model too big to fit "
                                   "(the default)"),
        ("--highvram", "high", "load whole models and keep them; never stream"),
        ("--lowvram", "low", "keep only the models a step needs; stream what does not fit beside it"),
        ("--novram", "none", "stream every model block by block from the CPU"),
    ):
        vram.add_argument(flag, dest="memory", action="store_const", const=policy, help=what)
    parser.set_defaults(memory="normal")
    parser.add_argument("--vram-budget", type=positive_float, default=None, metavar="GB",
                        help="use at most GB of the GPU for models and computation")
    parser.add_argument("--reserve-vram", type=non_negative_float, default=None, metavar="GB",
                        help="leave GB of the GPU free for other programs (default: 5%%, at least 0.5 GB)")
    parser.add_argument(
        "--cache-lru",
        type=positive_int,
        default=256,
        metavar="N",
        help="keep at most N node outputs cached across prompts (least recently used go first; default 256)",
    )
    parser.add_argument(
        "--cache-ram",
        type=positive_float,
        default=None,
        metavar="GB",
        help="keep cached node outputs (tensors and the models they hold) under GB (default: half the RAM)",
    )
    parser.add_argument(
        "--disable-metadata", action="store_true", help="save images without the prompt/workflow PNG text chunks"
    )
    parser.add_argument(
        "--max-pixels",
        type=positive_int,
        default=DEFAULT_MAX_PIXELS,
        metavar="N",
        help="refuse prompts whose nodes make images (or latents, counted at 8x) of more than N pixels each "
        f"(default {DEFAULT_MAX_PIXELS} = 8192x8192)",
    )
    parser.add_argument(
        "--max-batch",
        type=positive_int,
        default=DEFAULT_MAX_BATCH,
        metavar="N",
        help=f"refuse prompts whose nodes make batches of more than N images or latents (default {DEFAULT_MAX_BATCH})",
    )


def make_output_cache(args: argparse.Namespace) -> OutputCache:
    """The executor's cache: LRU bounded by entry count and by bytes, sized by `tensor_sizeof`."""
    max_entries = getattr(args, "cache_lru", 256)
    ram_gb = getattr(args, "cache_ram", None)
    max_bytes = psutil.virtual_memory().total // 2 if ram_gb is None else int(ram_gb * 1024**3)
    return OutputCache(LRUPolicy(max_entries=max_entries, max_bytes=max_bytes), sizeof=tensor_sizeof)


def size_limits(args: argparse.Namespace) -> SizeLimits:
    """--max-pixels and --max-batch, plus half the RAM as the budget of one node's output."""
    return SizeLimits(max_pixels=getattr(args, "max_pixels", None) or DEFAULT_MAX_PIXELS,
                      max_batch=getattr(args, "max_batch", None) or DEFAULT_MAX_BATCH)


@dataclass
class Engine:
    folders: Folders
    runtime: NodeRuntime
    registry: NodeRegistry
    plugins: PluginReport
    cache: OutputCache


def custom_node_dirs(folders: Folders) -> list[Path]:
    """The repo's custom_nodes/ plus <base>/custom_nodes when the base directory is elsewhere."""
    dirs = [REPO_ROOT / "custom_nodes"]
    extra = [Path(p) for p in folders.model_paths("custom_nodes")]
    for d in extra:
        if d.resolve() not in {x.resolve() for x in dirs}:
            dirs.append(d)
    return [d for d in dirs if d.is_dir()]


def build_engine(args: argparse.Namespace) -> Engine:
    cache = make_output_cache(args)
    folders = Folders.from_args(args)
    devices = DeviceRequest(cpu=bool(getattr(args, "cpu", False)), precision=getattr(args, "precision", "auto"),
                            vae_precision=getattr(args, "vae_precision", "auto"),
                            memory=getattr(args, "memory", None) or "normal",
                            vram_budget_gb=getattr(args, "vram_budget", None),
                            reserve_vram_gb=getattr(args, "reserve_vram", None),
                            weight_packing=bool(getattr(args, "weight_packing", True)),
                            weight_file_dir=str(folders.temp_dir / "weights"),
                            compile_unet=getattr(args, "compile_unet", None))
    runtime = NodeRuntime(folders=folders, devices=devices, logger=log,
                          preview_method=getattr(args, "preview_method", None) or "auto",
                          disable_metadata=bool(getattr(args, "disable_metadata", False)),
                          limits=size_limits(args))
    dirs = [] if getattr(args, "disable_all_custom_nodes", False) else custom_node_dirs(folders)
    # nodes.<CoreNode>() called by packs outside a running node uses this process's runtime (app/ wires it:
    # nodes.compat.core_nodes reads nodes.build, which loads the packs).
    compat_core_nodes.bind(runtime)
    registry, report = build_registry(runtime, dirs)
    for failure in getattr(report, "failed", []):
        log.warning("custom node pack %s failed to load: %s", failure.name, failure.error)
    return Engine(folders=folders, runtime=runtime, registry=registry, plugins=report, cache=cache)
