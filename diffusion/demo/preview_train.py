"""Fit the demo model's preview: latent2rgb factors + bias, and a small patch decoder (seeded).

    .venv/bin/python -m diffusion.demo.preview_train \\
        --checkpoint models/checkpoints/latentgraph-demo.safetensors \\
        --out models/vae_approx/latentgraph-demo_decoder.safetensors --seed 0

Data: model-space latents (VAE latent x 0.18215) of rendered training scenes, plus blends of two
of them with a little noise (the sampler's x0 predictions are not always clean scenes); targets:
the demo VAE's own decodes of those latents, so a preview shows what VAEDecode would show.
The factors are the exact least-squares fit of each clean scene's latent pixel to the mean colour of
its 8x8 decoded patch (in -1..1, latent2rgb's space); the decoder (`diffusion/models/taesd/patch_decoder.py`)
is trained with Adam on pixel MSE for a fixed number of steps. The command prints the constants to
put in `diffusion/demo/preview.py` (the factors and the UNet fingerprint).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from diffusion.demo.preview import unet_fingerprint
from diffusion.demo.shapes import render_batch, sample_scenes
from diffusion.models.taesd.patch_decoder import PATCH, patch_decoder

SCALE = 0.18215
CLEAN_SCENES = 1024
BLENDS = 256
BLEND_NOISE = 0.3


@torch.no_grad()
def preview_training_data(vae, *, seed: int, clean: int = CLEAN_SCENES,
                          blends: int = BLENDS) -> tuple[torch.Tensor, torch.Tensor]:
    """(model-space latents [N, 4, 8, 8], VAE decodes [N, 3, 64, 64] in 0..1) for a VAEHandle `vae`."""
    generator = torch.Generator().manual_seed(seed)
    images = torch.from_numpy(render_batch(sample_scenes(clean, seed + 1)))
    latents = vae.encode(images) * SCALE
    count = min(blends, clean // 2)
    mix = torch.rand(count, 1, 1, 1, generator=generator)
    noise = BLEND_NOISE * torch.rand(count, 1, 1, 1, generator=generator) * \
        torch.randn(count, *latents.shape[1:], generator=generator)
    blended = mix * latents[:count] + (1 - mix) * latents[count:2 * count] + noise
    latents = torch.cat([latents, blended])
    decoded = vae.decode(latents / SCALE).movedim(-1, 1).contiguous()
    return latents.float(), decoded.float()


def fit_rgb_factors(latents: torch.Tensor, images: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares (factors [C, 3], bias [3]) with rgb = latent . factors + bias ~ 2 * patch mean - 1."""
    x = latents.movedim(1, -1).reshape(-1, latents.shape[1]).double()
    y = (F.avg_pool2d(images, PATCH) * 2 - 1).movedim(1, -1).reshape(-1, 3).double()
    design = torch.cat([x, torch.ones(len(x), 1, dtype=x.dtype)], dim=1)
    solution = torch.linalg.lstsq(design, y).solution
    return solution[:-1].float().numpy(), solution[-1].float().numpy()


def train_patch_decoder(latents: torch.Tensor, images: torch.Tensor, *, seed: int, steps: int = 1500,
                        width: int = 64, batch_size: int = 128, peak_lr: float = 3e-3) -> torch.nn.Sequential:
    """A patch decoder trained to map `latents` to `images` (Adam, linear decay, pixel MSE)."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = patch_decoder(latents.shape[1], width)
    generator = torch.Generator().manual_seed(seed + 2)
    optimizer = torch.optim.Adam(model.parameters(), lr=peak_lr)
    model.train()
    for step in range(steps):
        for group in optimizer.param_groups:
            group["lr"] = peak_lr * (1 - step / steps) + 1e-4
        index = torch.randint(len(latents), (batch_size,), generator=generator)
        loss = (model(latents[index]) - images[index]).pow(2).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return model.eval().requires_grad_(False)


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    """Peak signal-to-noise ratio in dB of two images in 0..1."""
    return float(-10 * torch.log10((a.clamp(0, 1) - b.clamp(0, 1)).pow(2).mean()))


def main(argv: list[str] | None = None) -> int:
    from safetensors.torch import save_file

    from diffusion.checkpoints.loader import load_checkpoint

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default="models/checkpoints/latentgraph-demo.safetensors")
    parser.add_argument("--out", default="models/vae_approx/latentgraph-demo_decoder.safetensors")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=1500)
    args = parser.parse_args(argv)
    loaded = load_checkpoint(args.checkpoint, dtype=torch.float32)
    latents, images = preview_training_data(loaded.vae, seed=args.seed)
    factors, bias = fit_rgb_factors(latents[:CLEAN_SCENES], images[:CLEAN_SCENES])  # noisy inputs shrink a fit
    model = train_patch_decoder(latents, images, seed=args.seed, steps=args.steps)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.to(torch.float16).contiguous() for k, v in model.state_dict().items()}, str(out),
              metadata={"latentgraph.kind": "preview-decoder", "latentgraph.for": Path(args.checkpoint).name,
                        "latentgraph.seed": str(args.seed), "latentgraph.steps": str(args.steps)})
    with torch.no_grad():
        print(f"decoder PSNR on its data: {psnr(model(latents), images):.2f} dB -> {out} ({out.stat().st_size} bytes)")
    print(f'DEMO_UNET_FINGERPRINT = "{unet_fingerprint(loaded.model.model)}"')
    print("DEMO_RGB_FACTORS = (\n" + "".join(f"    ({', '.join(f'{v:.4f}' for v in row)}),\n" for row in factors) + ")")
    print(f"DEMO_RGB_BIAS = ({', '.join(f'{v:.4f}' for v in bias)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
