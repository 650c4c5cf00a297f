"""`python main.py make-checkpoint --family F --size tiny|full --out PATH`: write random weights
in the exact original single-file layout (whole checkpoint, `--vae-only` VAE, or `--lora` LoRA)."""

from __future__ import annotations

import argparse
import sys

HELP = "write a random-weight SD1.x/SD2.x/SDXL checkpoint, VAE or LoRA in the original key layout"

FAMILIES = ("sd15", "sd15-inpaint", "sd21", "sd21-v", "sdxl", "sdxl-refiner")
DTYPES = ("fp16", "fp32", "bf16")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--family", choices=FAMILIES,
                        help="model family (required for checkpoints, VAEs and LoRAs; with --kind, what the file is for)")
    parser.add_argument("--size", default="tiny", choices=("tiny", "full"),
                        help="tiny (for tests, a few MB) or full (the real shapes); default tiny")
    parser.add_argument("--out", help="output .safetensors path")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--dtype", default="fp16", choices=DTYPES, help="stored dtype (default fp16)")
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--lora", action="store_true", help="write a small kohya-style LoRA for the family instead")
    what.add_argument("--vae-only", action="store_true", help="write a standalone VAE file instead")
    what.add_argument("--kind", help="write another model kind instead (ControlNet, upscaler, CLIP vision, ...): "
                                     "see `make-checkpoint --list-kinds`")
    what.add_argument("--list-kinds", action="store_true", help="list the --kind values and exit")
    parser.add_argument("--rank", type=int, default=4, help="LoRA rank (with --lora; default 4)")


def run(args: argparse.Namespace) -> int:
    import torch

    from diffusion.checkpoints.make_checkpoint import write_checkpoint, write_vae
    from diffusion.checkpoints.weight_kinds import KINDS, write_kind
    from diffusion.models.lora.make_lora import write_lora

    if args.list_kinds:
        for kind in KINDS:
            families = f" (--family {' | '.join(kind.families)})" if kind.families else ""
            print(f"{kind.name}: {kind.help}{families}")
        return 0
    if args.out is None:
        print("error: --out is required", file=sys.stderr)
        return 2
    if args.kind is None and args.family is None:
        print("error: --family is required (or --kind for other model kinds)", file=sys.stderr)
        return 2

    dtype = {"fp16": torch.float16, "fp32": torch.float32, "bf16": torch.bfloat16}[args.dtype]
    if args.kind is None and not args.out.endswith((".safetensors", ".sft")):
        print(f"error: --out must end with .safetensors (got {args.out})", file=sys.stderr)
        return 2
    try:
        if args.kind is not None:
            size = write_kind(args.kind, args.out, family=args.family, size=args.size, seed=args.seed, dtype=dtype)
            what = args.kind + (f" for {args.family}" if args.family else "")
        elif args.lora:
            size = write_lora(args.out, args.family, args.size, seed=args.seed, rank=args.rank, dtype=dtype)
            what = f"{args.family} LoRA (rank {args.rank})"
        elif args.vae_only:
            size = write_vae(args.out, args.size, seed=args.seed, dtype=dtype)
            what = "VAE"
        else:
            size = write_checkpoint(args.out, args.family, args.size, seed=args.seed, dtype=dtype)
            what = f"{args.family} checkpoint"
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {what}, {args.size}, {args.dtype}: {args.out} ({size / 1e6:.1f} MB)")
    return 0
