"""`main.py train-demo`: train the embedded demo model (shapes dataset, tiny SD1-layout model)."""

from __future__ import annotations

import argparse
import sys

HELP = "train the tiny embedded demo model on the procedural shapes dataset and write an SD1.x checkpoint"
DEFAULT_OUT = "models/checkpoints/latentgraph-demo.safetensors"


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {text}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default=DEFAULT_OUT, help=f"checkpoint to write (default {DEFAULT_OUT})")
    parser.add_argument("--minutes", type=_positive_float, default=40.0,
                        help="wall-clock budget for both phases (default 40)")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                        help="training device (default cpu; cuda trains the same model on a GPU)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--threads", type=_positive_int, default=2, help="torch CPU threads (default 2)")
    parser.add_argument("--vae-steps", type=_positive_int, default=None,
                        help="stop the VAE phase after this many steps (exactly reproducible runs)")
    parser.add_argument("--unet-steps", type=_positive_int, default=None,
                        help="stop the UNet phase after this many steps (exactly reproducible runs)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    from diffusion.demo.train import train_demo

    try:
        summary = train_demo(args.out, minutes=args.minutes, seed=args.seed, device=args.device,
                             vae_steps=args.vae_steps, unet_steps=args.unet_steps, threads=args.threads,
                             quiet=args.quiet)
    except (ValueError, OSError) as exc:
        print(f"train-demo: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {summary.out} ({summary.file_bytes / 1e6:.1f} MB): VAE {summary.vae_steps} steps "
          f"(loss {summary.final_vae_loss:.4f}), UNet {summary.unet_steps} steps (loss {summary.final_unet_loss:.4f}) "
          f"in {summary.vae_seconds + summary.unet_seconds:.0f} s")
    return 0
