"""CheckpointLoader (config given, checkpoint detected) and DualCLIPLoader (SDXL's CLIP-L + CLIP-G files)."""

# The fixtures imported from sd_fixtures are used as test arguments (pytest's by-name injection).
# ruff: noqa: F811

from __future__ import annotations

import pytest
import torch
from safetensors.torch import save_file

from diffusion.checkpoints.checkpoint import load_state_dict
from nodes.library.loaders.config_dual_loaders import CheckpointLoader, DualCLIPLoader
from nodes.library.loaders.model_loaders import CheckpointLoaderSimple
from tests.nodes.sd_fixtures import call, context, sd_runtime, tiny_files  # noqa: F401

# Where the tiny SDXL checkpoint keeps its text encoders: CLIP-L (HF layout), CLIP-G (OpenCLIP layout).
SDXL_ENCODERS = {"clip_l": "conditioner.embedders.0.transformer.", "clip_g": "conditioner.embedders.1.model."}


def clip_weights(clip) -> dict[str, torch.Tensor]:
    out = {}
    for name, patcher in clip.encoders.items():
        with patcher.patched() as module:
            out.update({f"{name}:{k}": v.detach().clone() for k, v in module.named_parameters()})
    return out


@pytest.fixture
def text_encoder_files(sd_runtime, tiny_files):
    """clip_l.safetensors and clip_g.safetensors in models/text_encoders, cut out of the tiny SDXL checkpoint."""
    sd = load_state_dict(tiny_files["sdxl"])
    folder = sd_runtime.folders.models_dir / "text_encoders"
    folder.mkdir(parents=True, exist_ok=True)
    for kind, prefix in SDXL_ENCODERS.items():
        save_file({k[len(prefix):]: sd[k].contiguous() for k in sd if k.startswith(prefix)},
                  str(folder / f"{kind}.safetensors"))
    return ["clip_l.safetensors", "clip_g.safetensors"]


def write_config(runtime, name="v1-inference.yaml"):
    folder = runtime.folders.models_dir / "configs"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text("model:\n  params:\n    parameterization: eps\n")
    return name


@pytest.mark.parametrize("family", ["sd15", "sdxl"])
def test_checkpoint_loader_loads_like_checkpoint_loader_simple(sd_runtime, family):
    ctx = context(sd_runtime)
    config = write_config(sd_runtime)
    model, clip, vae = call(CheckpointLoader, ctx, config_name=config, ckpt_name=f"{family}.safetensors")
    simple = call(CheckpointLoaderSimple, ctx, ckpt_name=f"{family}.safetensors")
    assert model.model_info.family == family == simple[0].model_info.family
    assert clip_weights(clip).keys() == clip_weights(simple[1]).keys()
    assert all(torch.equal(a, b) for a, b in zip(clip_weights(clip).values(), clip_weights(simple[1]).values(),
                                                 strict=True))
    assert vae is not None


def test_checkpoint_loader_needs_its_config_file(sd_runtime):
    with pytest.raises(FileNotFoundError, match="CheckpointLoader: input 'config_name'"):
        call(CheckpointLoader, context(sd_runtime), config_name="missing.yaml", ckpt_name="sd15.safetensors")


def test_checkpoint_loader_fingerprint_follows_both_files(sd_runtime):
    ctx = context(sd_runtime)
    config = write_config(sd_runtime)
    before = CheckpointLoader.fingerprint(ctx, config_name=config, ckpt_name="sd15.safetensors")
    (sd_runtime.folders.models_dir / "configs" / config).write_text("changed: true, and longer\n")
    assert CheckpointLoader.fingerprint(ctx, config_name=config, ckpt_name="sd15.safetensors") != before


@pytest.mark.parametrize("order", [(0, 1), (1, 0)])
def test_dual_clip_loader_gives_sdxl_text_encoders(sd_runtime, text_encoder_files, order):
    ctx = context(sd_runtime)
    first, second = (text_encoder_files[i] for i in order)
    (clip,) = call(DualCLIPLoader, ctx, clip_name1=first, clip_name2=second, type="sdxl")
    _, reference, _ = call(CheckpointLoaderSimple, ctx, ckpt_name="sdxl.safetensors")
    assert clip.family == reference.family == "sdxl"
    ours, theirs = clip_weights(clip), clip_weights(reference)
    assert ours.keys() == theirs.keys() and all(torch.equal(ours[k], theirs[k]) for k in ours)
    # each encoder knows its own file, whatever the input order (the model manager's queue-aware eviction)
    folder = sd_runtime.folders.models_dir / "text_encoders"
    assert {name: patcher.source for name, patcher in clip.encoders.items()} == {
        "l": str((folder / text_encoder_files[0]).resolve()), "g": str((folder / text_encoder_files[1]).resolve())}


def test_dual_clip_loader_refuses_other_types_and_pairs(sd_runtime, text_encoder_files):
    ctx = context(sd_runtime)
    with pytest.raises(ValueError, match="DualCLIPLoader: input 'type': 'flux' .*supported: sdxl"):
        call(DualCLIPLoader, ctx, clip_name1=text_encoder_files[0], clip_name2=text_encoder_files[1], type="flux")
    with pytest.raises(ValueError, match="DualCLIPLoader: .*second clip_l"):
        call(DualCLIPLoader, ctx, clip_name1=text_encoder_files[0], clip_name2=text_encoder_files[0], type="sdxl")
    with pytest.raises(FileNotFoundError, match="DualCLIPLoader: input 'clip_name2'"):
        call(DualCLIPLoader, ctx, clip_name1=text_encoder_files[0], clip_name2="missing.safetensors", type="sdxl")
