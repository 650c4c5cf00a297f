"""KSampler and KSamplerAdvanced on tiny checkpoints: reproducibility, img2img, inpainting, batches,
progress and previews, interrupts, and bad input."""

# The fixtures imported from sd_fixtures are used as test arguments (pytest's by-name injection).
# ruff: noqa: F811

from __future__ import annotations

import pytest
import torch

from graph.context import Interrupted
from nodes.api.declare import DeclaredNodeType
from nodes.library.conditioning.clip_text import CLIPTextEncode
from nodes.library.latent.latent_ops import LatentFromBatch
from nodes.library.sampling.ksampler import KSampler, KSamplerAdvanced
from tests.nodes.sd_fixtures import call, context, sd_runtime, tiny_files, tiny_models  # noqa: F401

SIZE = 8  # latent pixels (64 px images)


@pytest.fixture
def sd15(tiny_models):
    return tiny_models["sd15"]


def conds(runtime, clip, positive="a lighthouse", negative="blurry"):
    pos = call(CLIPTextEncode, context(runtime), text=positive, clip=clip)[0]
    neg = call(CLIPTextEncode, context(runtime), text=negative, clip=clip)[0]
    return pos, neg


def empty(batch=1):
    return {"samples": torch.zeros(batch, 4, SIZE, SIZE)}


def ksampler(runtime, model, pos, neg, latent, *, ctx=None, seed=1, steps=3, cfg=5.0, sampler="euler",
             scheduler="normal", denoise=1.0):
    return call(KSampler, ctx or context(runtime), model=model, seed=seed, steps=steps, cfg=cfg, sampler_name=sampler,
                scheduler=scheduler, positive=pos, negative=neg, latent_image=latent, denoise=denoise)[0]


def test_inputs_and_defaults_match_comfyui():
    schema = DeclaredNodeType(KSampler).schema()
    assert [i.name for i in schema.inputs] == ["model", "seed", "steps", "cfg", "sampler_name", "scheduler",
                                               "positive", "negative", "latent_image", "denoise"]
    seed = schema.input("seed").options
    assert seed["max"] == 2**64 - 1 and seed["control_after_generate"]
    assert {k: schema.input("cfg").options[k] for k in ("default", "min", "max", "step", "round")} == {
        "default": 8.0, "min": 0.0, "max": 100.0, "step": 0.1, "round": 0.01}
    assert schema.input("sampler_name").choices[0] == "euler" and schema.input("scheduler").choices[0] == "simple"
    advanced = DeclaredNodeType(KSamplerAdvanced).schema()
    assert [i.name for i in advanced.inputs] == [
        "model", "add_noise", "noise_seed", "steps", "cfg", "sampler_name", "scheduler", "positive", "negative",
        "latent_image", "start_at_step", "end_at_step", "return_with_leftover_noise"]
    assert advanced.input("return_with_leftover_noise").choices == ("disable", "enable")


def test_same_seed_gives_the_same_latent(sd_runtime, sd15):
    pos, neg = conds(sd_runtime, sd15.clip)
    first = ksampler(sd_runtime, sd15.model, pos, neg, empty(), seed=5)
    second = ksampler(sd_runtime, sd15.model, pos, neg, empty(), seed=5)
    other = ksampler(sd_runtime, sd15.model, pos, neg, empty(), seed=6)
    assert first["samples"].shape == (1, 4, SIZE, SIZE)
    assert torch.equal(first["samples"], second["samples"])
    assert not torch.allclose(first["samples"], other["samples"])


def test_output_is_a_new_dict_and_the_input_is_unchanged(sd_runtime, sd15):
    pos, neg = conds(sd_runtime, sd15.clip)
    latent = {"samples": torch.randn(1, 4, SIZE, SIZE), "batch_index": [3]}
    before = latent["samples"].clone()
    out = ksampler(sd_runtime, sd15.model, pos, neg, latent, denoise=0.5)
    assert out is not latent and out["batch_index"] == [3]
    assert torch.equal(latent["samples"], before)


def test_img2img_at_denoise_zero_returns_its_input(sd_runtime, sd15):
    pos, neg = conds(sd_runtime, sd15.clip)
    latent = {"samples": torch.randn(1, 4, SIZE, SIZE)}
    out = ksampler(sd_runtime, sd15.model, pos, neg, latent, denoise=0.0)
    assert torch.equal(out["samples"], latent["samples"])


def test_inpainting_keeps_the_unmasked_latent_bit_identical(sd_runtime, sd15):
    pos, neg = conds(sd_runtime, sd15.clip)
    samples = torch.randn(1, 4, SIZE, SIZE)
    mask = torch.zeros(1, 1, SIZE * 8, SIZE * 8)
    mask[..., 16:48, 16:48] = 1.0
    out = ksampler(sd_runtime, sd15.model, pos, neg, {"samples": samples, "noise_mask": mask})
    kept = torch.ones(SIZE, SIZE, dtype=torch.bool)
    kept[2:6, 2:6] = False
    assert torch.equal(out["samples"][..., kept], samples[..., kept])
    assert not torch.allclose(out["samples"][..., 3, 3], samples[..., 3, 3])
    assert "noise_mask" in out


def test_batch_item_equals_the_single_image_of_its_index(sd_runtime, sd15):
    pos, neg = conds(sd_runtime, sd15.clip)
    batch = ksampler(sd_runtime, sd15.model, pos, neg, empty(2), seed=11)
    picked = call(LatentFromBatch, context(sd_runtime), samples=empty(2), batch_index=1, length=1)[0]
    single = ksampler(sd_runtime, sd15.model, pos, neg, picked, seed=11)
    assert single["batch_index"] == [1]
    assert torch.allclose(single["samples"][0], batch["samples"][1], rtol=1e-4, atol=1e-3)
    first = ksampler(sd_runtime, sd15.model, pos, neg, empty(1), seed=11)
    assert torch.allclose(first["samples"][0], batch["samples"][0], rtol=1e-4, atol=1e-3)


def test_progress_reports_each_step_with_a_jpeg_preview(sd_runtime, sd15):
    pos, neg = conds(sd_runtime, sd15.clip)
    ctx = context(sd_runtime)
    ksampler(sd_runtime, sd15.model, pos, neg, empty(), ctx=ctx, steps=3)
    assert [(v, t) for v, t, _ in ctx.on_progress.calls] == [(1, 3), (2, 3), (3, 3)]
    preview = ctx.on_progress.calls[-1][2]
    assert preview.format == "JPEG" and preview.data[:2] == b"\xff\xd8"
    quiet = context(sd_runtime, extra_data={"preview_method": "none"})
    ksampler(sd_runtime, sd15.model, pos, neg, empty(), ctx=quiet, steps=2)
    assert [p for _, _, p in quiet.on_progress.calls] == [None, None]


def test_interrupt_mid_sampling_stops_cleanly_and_the_next_run_works(sd_runtime, sd15):
    pos, neg = conds(sd_runtime, sd15.clip)
    ctx = context(sd_runtime)
    recorder = ctx.on_progress

    def interrupt_after_first_step(node_id, value, total, preview):
        recorder(node_id, value, total, preview)
        ctx.interrupt.set()

    ctx.on_progress = interrupt_after_first_step
    with pytest.raises(Interrupted):
        ksampler(sd_runtime, sd15.model, pos, neg, empty(), ctx=ctx, steps=5)
    assert len(recorder.calls) == 1
    again = ksampler(sd_runtime, sd15.model, pos, neg, empty(), steps=2)
    assert torch.isfinite(again["samples"]).all()


def test_wrong_latent_channels_name_the_input(sd_runtime, sd15):
    pos, neg = conds(sd_runtime, sd15.clip)
    with pytest.raises(ValueError, match=r"KSampler: input 'latent_image': the latent has 3 channels"):
        ksampler(sd_runtime, sd15.model, pos, neg, {"samples": torch.randn(1, 3, SIZE, SIZE)})
    with pytest.raises(TypeError, match=r"KSampler: input 'latent_image' must be a LATENT"):
        ksampler(sd_runtime, sd15.model, pos, neg, torch.zeros(1, 4, SIZE, SIZE))
    with pytest.raises(TypeError, match=r"KSampler: input 'model' must be a MODEL"):
        ksampler(sd_runtime, "model", pos, neg, empty())
    with pytest.raises(TypeError, match=r"KSampler: input 'positive'"):
        ksampler(sd_runtime, sd15.model, "text", neg, empty())


def test_empty_latent_with_fewer_channels_is_widened(sd_runtime, sd15):
    pos, neg = conds(sd_runtime, sd15.clip)
    out = ksampler(sd_runtime, sd15.model, pos, neg, {"samples": torch.zeros(1, 1, SIZE, SIZE)}, steps=1)
    assert out["samples"].shape == (1, 4, SIZE, SIZE)


def advanced(runtime, model, pos, neg, latent, *, add_noise="enable", steps=4, start=0, end=10000,
             leftover="disable", seed=2):
    return call(KSamplerAdvanced, context(runtime), model=model, add_noise=add_noise, noise_seed=seed, steps=steps,
                cfg=5.0, sampler_name="euler", scheduler="normal", positive=pos, negative=neg, latent_image=latent,
                start_at_step=start, end_at_step=end, return_with_leftover_noise=leftover)[0]


def test_advanced_split_equals_one_full_run(sd_runtime, sd15):
    pos, neg = conds(sd_runtime, sd15.clip)
    full = advanced(sd_runtime, sd15.model, pos, neg, empty())
    first = advanced(sd_runtime, sd15.model, pos, neg, empty(), end=2, leftover="enable")
    second = advanced(sd_runtime, sd15.model, pos, neg, first, add_noise="disable", start=2)
    assert torch.allclose(second["samples"], full["samples"], rtol=1e-4, atol=1e-3)
    forced = advanced(sd_runtime, sd15.model, pos, neg, empty(), end=2, leftover="disable")
    assert not torch.allclose(forced["samples"], first["samples"])


def test_advanced_start_beyond_the_end_returns_the_input(sd_runtime, sd15):
    pos, neg = conds(sd_runtime, sd15.clip)
    latent = {"samples": torch.randn(1, 4, SIZE, SIZE)}
    out = advanced(sd_runtime, sd15.model, pos, neg, latent, start=4)
    assert torch.equal(out["samples"], latent["samples"])


@pytest.mark.parametrize("family", ["sd21-v", "sdxl", "sdxl-refiner"])
def test_other_families_sample(sd_runtime, tiny_models, family):
    loaded = tiny_models[family]
    pos, neg = conds(sd_runtime, loaded.clip)
    out = ksampler(sd_runtime, loaded.model, pos, neg, empty(), steps=2, sampler="dpmpp_2m", scheduler="karras")
    assert out["samples"].shape == (1, 4, SIZE, SIZE) and torch.isfinite(out["samples"]).all()


@pytest.mark.parametrize("sampler", ["euler_ancestral", "dpmpp_2m_sde", "uni_pc", "ddim"])
def test_stochastic_and_other_samplers_are_reproducible(sd_runtime, sd15, sampler):
    pos, neg = conds(sd_runtime, sd15.clip)
    a = ksampler(sd_runtime, sd15.model, pos, neg, empty(), sampler=sampler, steps=3)
    b = ksampler(sd_runtime, sd15.model, pos, neg, empty(), sampler=sampler, steps=3)
    assert torch.equal(a["samples"], b["samples"])


def test_noise_mask_of_another_size_is_resized(sd_runtime, sd15):
    pos, neg = conds(sd_runtime, sd15.clip)
    samples = torch.randn(1, 4, SIZE, SIZE)
    mask = torch.zeros(1, 5, 7)
    mask[:, :, 4:] = 1.0  # the right part
    out = ksampler(sd_runtime, sd15.model, pos, neg, {"samples": samples, "noise_mask": mask}, steps=2)
    assert torch.equal(out["samples"][..., :3], samples[..., :3])
    assert not torch.allclose(out["samples"][..., -1], samples[..., -1])


def test_malformed_noise_mask_names_the_input(sd_runtime, sd15):
    pos, neg = conds(sd_runtime, sd15.clip)
    with pytest.raises(ValueError, match=r"KSampler: input 'latent_image' has a noise_mask"):
        ksampler(sd_runtime, sd15.model, pos, neg, {"samples": torch.randn(1, 4, SIZE, SIZE),
                                                    "noise_mask": torch.zeros(SIZE)})


def test_free_models_unloads_and_forgets(sd_runtime):
    from nodes.library.loaders.model_loaders import CheckpointLoaderSimple

    assert sd_runtime.unload_models() is False
    first = call(CheckpointLoaderSimple, context(sd_runtime), ckpt_name="sd15.safetensors")[0]
    sd_runtime.models.load([first])
    assert sd_runtime.models.manager.is_loaded(first)
    assert sd_runtime.unload_models() is True
    assert not sd_runtime.models.manager.is_loaded(first)
    assert call(CheckpointLoaderSimple, context(sd_runtime), ckpt_name="sd15.safetensors")[0] is not first


def test_executor_interrupt_stops_the_prompt_and_the_next_one_runs(sd_runtime):
    """The txt2img example through the graph executor: interrupted mid-sampling, then run again."""
    import json
    from pathlib import Path

    from graph.context import InterruptToken
    from graph.events import ListSink
    from graph.executor import Executor
    from graph.validate import validate_prompt
    from nodes.build import build_registry

    registry, _ = build_registry(sd_runtime)
    prompt = json.loads((Path(__file__).resolve().parents[4] / "workflows" / "txt2img_sd15_api.json").read_text())
    prompt["5"]["inputs"].update(width=64, height=64)
    prompt["3"]["inputs"]["steps"] = 4
    validation = validate_prompt(prompt, registry)
    assert validation.ok and not validation.node_errors
    executor = Executor(registry, runtime=sd_runtime)
    token = InterruptToken()
    events = ListSink()

    def interrupting_sink(event, data):
        events(event, data)
        if event == "progress" and data["node"] == "3":
            token.set()

    interrupted = executor.execute(validation.prompt, prompt_id="a", outputs=validation.outputs,
                                   sink=interrupting_sink, interrupt=token)
    assert interrupted.status == "interrupted"
    assert len(events.of("progress")) == 1 and len(events.of("preview")) == 1
    assert not list(sd_runtime.folders.output_dir.glob("*.png"))
    again = ListSink()
    done = executor.execute(validation.prompt, prompt_id="b", outputs=validation.outputs, sink=again)
    assert done.status == "success", done.error
    assert [d["value"] for d in again.of("progress")] == [1, 2, 3, 4]
    assert len(list(sd_runtime.folders.output_dir.glob("txt2img_*.png"))) == 1
