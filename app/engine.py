"""Builds what every command needs: folders, runtime, and the node registry
(built-in nodes plus custom node packs), from the command-line flags."""

from __future__ import annotations

import argparse
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.folders import Folders, add_folder_arguments
from app.runtime import Runtime
from nodes.registry import build_registry

REPO_ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger("latentgraph")


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
        "--disable-metadata", action="store_true", help="save images without the prompt/workflow PNG text chunks"
    )


@dataclass
class Engine:
    folders: Folders
    runtime: Runtime
    registry: Any
    plugins: Any


def custom_node_dirs(folders: Folders) -> list[Path]:
    """The repo's custom_nodes/ plus <base>/custom_nodes when the base directory is elsewhere."""
    dirs = [REPO_ROOT / "custom_nodes"]
    extra = [Path(p) for p in folders.model_paths("custom_nodes")]
    for d in extra:
        if d.resolve() not in {x.resolve() for x in dirs}:
            dirs.append(d)
    return [d for d in dirs if d.is_dir()]


def build_engine(args: argparse.Namespace) -> Engine:
    folders = Folders.from_args(args)
    runtime = Runtime.create(folders, cpu=getattr(args, "cpu", False), logger=log)
    runtime.disable_metadata = bool(getattr(args, "disable_metadata", False))
    runtime.services["precision"] = getattr(args, "precision", "auto")
    dirs = [] if getattr(args, "disable_all_custom_nodes", False) else custom_node_dirs(folders)
    registry, report = build_registry(runtime, dirs)
    for failure in getattr(report, "failed", []):
        log.warning("custom node pack %s failed to load: %s", failure.name, failure.error)
    return Engine(folders=folders, runtime=runtime, registry=registry, plugins=report)
