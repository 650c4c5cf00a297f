"""UNet precision probe: how far the default bf16 CPU UNet's output is from the fp32 one's, and where it loses.

    python bench/unet_precision.py [--cache-dir DIR] [--timesteps 500,900] [--size 32] [--no-sensitivity]

Loads the cached full-size random-weight SD1.5 checkpoint of bench/sampling.py (fp16 on disk; written by
`make-checkpoint` on first use, as there) twice:
in fp32, and the way the default CPU path does (bf16 weights, channels-last, packed oneDNN weights;
nodes/api/model_services.py `prepare_unet`). One forward each on a fixed seeded latent [1,4,S,S], a fixed
random text context [1,77,768] and each timestep; prints the PSNR of the bf16 eps prediction against the
fp32 one. PSNR here: 10 log10(range^2 / MSE) with range = max - min of the fp32 output (as skimage's
`data_range`); an eps prediction spans about 8, so ~1e-4 MSE is ~58 dB.

The sensitivity pass keeps one spot of the bf16 model in fp32 at a time (a copy of the spot's fp32 layer,
fed fp32 inputs) and reports the gain; the last rows are the floor set by the weights alone (fp32 compute on
bf16-rounded weights). Costs are estimates from sizes (share of the UNet's FLOPs or extra bytes moved per
forward), not timings: the machine this runs on is shared. Needs about 6 GB of memory.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import math
import sys
import tempfile
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.sampling import ensure_checkpoint  # noqa: E402 - the same cached checkpoint


def psnr_db(test, reference) -> float:
    """PSNR of `test` against `reference` with the reference's value range as the peak (inf when equal)."""
    reference = reference.double()
    mse = float(((test.double() - reference) ** 2).mean())
    peak = float(reference.max() - reference.min())
    return math.inf if mse == 0 else 10.0 * math.log10(peak * peak / mse)


def load_unets(path: Path):
    """The checkpoint's UNet in fp32 (plain, as the baseline) and as the default bf16 CPU path prepares it."""
    import torch

    from diffusion.checkpoints.loader import load_checkpoint
    from diffusion.memory.devices import DeviceChoice
    from nodes.api.model_services import prepare_unet

    cpu = torch.device("cpu")
    fp32 = load_checkpoint(path, dtype=torch.float32, output_clip=False, output_vae=False).model.model
    bf16 = load_checkpoint(path, dtype=torch.bfloat16, output_clip=False, output_vae=False).model
    choice = DeviceChoice(device=cpu, unet_dtype=torch.bfloat16, text_encoder_dtype=torch.float32,
                          vae_dtype=torch.float32, pack_cpu_weights=True)
    return fp32, prepare_unet(bf16, choice).model


class Fp32Island(torch.nn.Module):
    """A fp32 copy of one layer run on fp32 inputs; its output cast back to `out_dtype` (None: left fp32)."""

    def __init__(self, layer, out_dtype):
        super().__init__()
        self.layer, self.out_dtype = layer, out_dtype

    def forward(self, *args):
        args = [a.float() if isinstance(a, torch.Tensor) and a.is_floating_point() else a for a in args]
        out = self.layer(*args)
        return out if self.out_dtype is None else out.to(self.out_dtype)


@contextlib.contextmanager
def swapped(parent, name: str, replacement):
    """`parent.<name>` replaced by `replacement` inside the block."""
    original = parent._modules[name]
    parent._modules[name] = replacement
    try:
        yield
    finally:
        parent._modules[name] = original


@contextlib.contextmanager
def islands(bf16, fp32, paths: list[str], keep_fp32: bool = False):
    """The bf16 model with the layers at `paths` replaced by fp32 islands (copies of the fp32 model's layers)."""
    import torch

    with contextlib.ExitStack() as stack:
        for path in paths:
            parent_path, _, name = path.rpartition(".")
            parent = bf16.get_submodule(parent_path) if parent_path else bf16
            layer = copy.deepcopy(fp32.get_submodule(path))
            island = Fp32Island(layer, None if keep_fp32 else torch.bfloat16)
            if hasattr(parent._modules[name], "weight"):  # the UNet reads its compute dtype off conv_in's weight
                island.register_buffer("weight", parent._modules[name].weight.detach(), persistent=False)
            stack.enter_context(swapped(parent, name, island))
        yield


@contextlib.contextmanager
def fp32_attention():
    """scaled_dot_product_attention computed in fp32 on the (bf16) q, k, v; result cast back."""
    import torch.nn.functional as F

    original = F.scaled_dot_product_attention

    def attend(q, k, v, *args, **kwargs):
        return original(q.float(), k.float(), v.float(), *args, **kwargs).to(q.dtype)

    F.scaled_dot_product_attention = attend
    try:
        yield
    finally:
        F.scaled_dot_product_attention = original


@contextlib.contextmanager
def exact_time_embedding(bf16, fp32):
    """The whole time path in fp32: sinusoid, time_embed and every ResBlock's emb_layers (fp32 weights)."""
    paths = ["time_embed"] + [name for name, _ in bf16.named_modules() if name.endswith("emb_layers")]
    with islands(bf16, fp32, paths, keep_fp32=True):
        yield


def sensitivity_variants(bf16, fp32):
    """(name, estimated extra cost, context manager factory) for each spot kept in fp32."""
    from diffusion.models.unet.blocks import SpatialTransformer

    norms = [name + ".norm" for name, m in bf16.named_modules() if isinstance(m, SpatialTransformer)]
    return [
        ("time path (sinusoid, time_embed, emb_layers)", "~0.03% FLOPs, ~25 M params", lambda: exact_time_embedding(bf16, fp32)),
        ("out head (norm, SiLU, conv)", "~0.01% FLOPs", lambda: islands(bf16, fp32, ["out"])),
        ("conv_in (input_blocks.0.0)", "~0.01% FLOPs", lambda: islands(bf16, fp32, ["input_blocks.0.0"])),
        ("transformer GroupNorms", "norm traffic x2", lambda: islands(bf16, fp32, norms)),
        ("attention scores/softmax", "attention core ~5-10% FLOPs in fp32", fp32_attention),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache-dir", default=str(Path(tempfile.gettempdir()) / "latentgraph-bench"))
    parser.add_argument("--timesteps", default="500,900")
    parser.add_argument("--size", type=int, default=32, help="latent height and width")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-sensitivity", action="store_true", help="only the default path's PSNR")
    args = parser.parse_args(argv)
    path = ensure_checkpoint(Path(args.cache_dir))

    import torch

    torch.manual_seed(args.seed)
    x = torch.randn(1, 4, args.size, args.size)
    context = torch.randn(1, 77, 768)
    steps = [float(t) for t in args.timesteps.split(",")]
    fp32, bf16 = load_unets(path)

    def run(model):
        with torch.no_grad():
            return [model(x, torch.tensor([t]), context).float() for t in steps]

    reference = run(fp32)
    rows = []

    def report(name: str, cost: str, outputs) -> None:
        values = [psnr_db(o, r) for o, r in zip(outputs, reference, strict=True)]
        rows.append((name, cost, values))
        print(f"{name:48s} " + " ".join(f"{v:7.2f}" for v in values) + f"   {cost}", flush=True)

    print(f"{'variant':48s} " + " ".join(f"t={t:<5g}" for t in steps) + "   extra cost (estimate)")
    report("default bf16 path", "-", run(bf16))
    if not args.no_sensitivity:
        for name, cost, variant in sensitivity_variants(bf16, fp32):
            with variant():
                report("fp32 " + name, cost, run(bf16))
        del bf16
        with torch.no_grad():
            for parameter in fp32.parameters():
                parameter.copy_(parameter.to(torch.bfloat16).float())
        report("floor: fp32 compute, bf16-rounded weights", "2x weight memory", run(fp32))
    return 0


if __name__ == "__main__":
    sys.exit(main())
