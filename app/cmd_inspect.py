"""`python main.py inspect PATH [--json]`: what a model file is (family, prediction, parameter
counts, dtype; or the LoRA / VAE / embedding and what it applies to). Exit 1 if unreadable."""

from __future__ import annotations

import argparse
import json
import sys

HELP = "describe a model file: checkpoint family and prediction, parameter counts, dtype, LoRA/VAE/embedding"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", help="model file (.safetensors, .ckpt, .pt, ...)")
    parser.add_argument("--json", action="store_true", help="print the description as JSON")


def _millions(count: int) -> str:
    return f"{count / 1e6:.1f} M" if count >= 1e5 else f"{count:,}"


def format_summary(summary: dict) -> list[str]:
    """Human-readable lines for a `describe_model_file` result."""
    lines = [f"{summary['path']}: {summary['kind']} ({summary['size_bytes'] / 1e6:.1f} MB)"]
    if "family" in summary:
        source = summary.get("prediction_source")
        lines.append(f"  family: {summary['family']}, prediction: {summary['prediction']}"
                     + (f" (from {source})" if source else ""))
    if "text_encoders" in summary:
        lines.append(f"  text encoders: {', '.join(summary['text_encoders'])}")
    if "applies_to" in summary:
        applies = summary["applies_to"]
        if isinstance(applies, dict):
            applies = ", ".join(f"{target}: {count} modules" for target, count in applies.items())
        lines.append(f"  applies to: {applies}")
    if "family_guess" in summary:
        lines.append(f"  made for: {summary['family_guess']} (UNet context width {summary['unet_context_width']})")
    if "ranks" in summary:
        lines.append(f"  ranks: {', '.join(str(r) for r in summary['ranks'])}")
    if "text_encoder" in summary:
        lines.append(f"  {summary['text_encoder']}: {summary['layers']} layers, width {summary['width']}, "
                     f"{summary['layout']} layout")
    if "usage" in summary:
        lines.append(f"  use in a prompt as: {summary['usage']}")
    for name, component in summary.get("components", {}).items():
        lines.append(f"  {name}: {_millions(component['parameters'])} parameters, {component['dtype']}")
    if "error" in summary:
        lines.append(f"  {summary['error']}")
    return lines


def run(args: argparse.Namespace) -> int:
    from diffusion.checkpoints.checkpoint import CheckpointError
    from diffusion.checkpoints.summary import describe_model_file

    try:
        summary = describe_model_file(args.path)
    except (CheckpointError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(summary, indent=2, default=str))
    else:
        print("\n".join(format_summary(summary)))
    return 1 if "error" in summary else 0
