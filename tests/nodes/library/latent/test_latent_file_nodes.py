"""SaveLatent and LoadLatent: ComfyUI's .latent format, counter naming, exact round trip, old-file scaling."""

import json

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from nodes.api.declare import DeclaredNodeType
from nodes.library.latent.latent_files import LatentFileError, LoadLatent, SaveLatent
from tests.nodes.sd_fakes import schema, values


@pytest.fixture
def ctx(make_ctx):
    return make_ctx()


def random_latent(batch=2, seed=0):
    return {"samples": torch.randn(batch, 4, 5, 7, generator=torch.Generator().manual_seed(seed))}


def save(ctx, latent, prefix="latents/ComfyUI", **hidden):
    return DeclaredNodeType(SaveLatent, ctx.runtime).execute(
        ctx, {"samples": latent, "filename_prefix": prefix, **hidden})


def test_save_then_load_is_exact(ctx, runtime):
    latent = random_latent()
    result = save(ctx, latent)
    assert result.ui == {"latents": [{"filename": "ComfyUI_00001_.latent", "subfolder": "latents", "type": "output"}]}
    written = runtime.folders.output_dir / "latents" / "ComfyUI_00001_.latent"
    target = runtime.folders.input_dir / "copy.latent"
    target.write_bytes(written.read_bytes())
    (loaded,) = values(LoadLatent, ctx, latent="copy.latent")
    assert set(loaded) == {"samples"} and loaded["samples"].dtype == torch.float32
    assert torch.equal(loaded["samples"], latent["samples"])
    (from_output,) = values(LoadLatent, ctx, latent="latents/ComfyUI_00001_.latent [output]")
    assert torch.equal(from_output["samples"], latent["samples"])


def test_saved_file_holds_the_tensor_the_marker_and_the_prompt(ctx, runtime):
    prompt = {"1": {"class_type": "SaveLatent", "inputs": {}}}
    save(ctx, random_latent(), "run", prompt=prompt, extra_pnginfo={"workflow": {"nodes": []}})
    with safe_open(str(runtime.folders.output_dir / "run_00001_.latent"), framework="pt") as handle:
        assert set(handle.keys()) == {"latent_tensor", "latent_format_version_0"}
        assert handle.get_tensor("latent_format_version_0").numel() == 0
        metadata = handle.metadata()
    assert json.loads(metadata["prompt"]) == prompt and json.loads(metadata["workflow"]) == {"nodes": []}


def test_save_counts_up_and_refuses_prefixes_outside_the_output_folder(ctx, runtime):
    (runtime.folders.output_dir / "run_00007_.png").write_bytes(b"")
    first = save(ctx, random_latent(), "run").ui["latents"][0]["filename"]
    second = save(ctx, random_latent(), "run").ui["latents"][0]["filename"]
    assert (first, second) == ("run_00008_.latent", "run_00009_.latent")
    with pytest.raises(LatentFileError, match="SaveLatent: filename_prefix '../escape' is not allowed"):
        save(ctx, random_latent(), "../escape")
    with pytest.raises(ValueError, match="SaveLatent: input 'samples' must hold samples of shape"):
        save(ctx, {"samples": torch.zeros(3, 3)})


def test_save_writes_no_metadata_when_disabled(ctx, runtime):
    runtime.disable_metadata = True
    save(ctx, random_latent(), "plain", prompt={"1": {}})
    with safe_open(str(runtime.folders.output_dir / "plain_00001_.latent"), framework="pt") as handle:
        assert not handle.metadata()


def test_old_files_without_the_marker_are_divided_by_0_18215(ctx, runtime):
    stored = torch.full((1, 4, 2, 2), 0.18215)
    save_file({"latent_tensor": stored.half()}, str(runtime.folders.input_dir / "old.latent"))
    (loaded,) = values(LoadLatent, ctx, latent="old.latent")
    assert loaded["samples"].dtype == torch.float32
    assert torch.allclose(loaded["samples"], stored.half().float() / 0.18215)


def test_load_lists_latent_files_and_fingerprints_their_content(ctx, runtime):
    inputs = runtime.folders.input_dir
    save_file({"latent_tensor": torch.zeros(1, 4, 2, 2), "latent_format_version_0": torch.tensor([])},
              str(inputs / "b.latent"))
    (inputs / "a.latent").write_bytes((inputs / "b.latent").read_bytes())
    (inputs / "picture.png").write_bytes(b"")
    assert schema(LoadLatent, runtime).inputs[0].choices == ("a.latent", "b.latent")
    node = DeclaredNodeType(LoadLatent, runtime)
    before = node.fingerprint({"latent": "a.latent"})
    assert before == node.fingerprint({"latent": "b.latent"})
    save_file({"latent_tensor": torch.ones(1, 4, 2, 2)}, str(inputs / "a.latent"))
    assert node.fingerprint({"latent": "a.latent"}) != before


def test_load_reports_missing_unsafe_and_damaged_files(ctx, runtime):
    node = DeclaredNodeType(LoadLatent, runtime)
    assert node.validate({"latent": "a.latent"}, None) == [
        (None, "LoadLatent: Invalid latent file: 'a.latent' was not found in the input folder")]
    assert "refused latent name" in node.validate({"latent": "../x.latent"}, None)[0][1]
    (runtime.folders.input_dir / "broken.latent").write_bytes(b"not a safetensors file")
    assert node.validate({"latent": "broken.latent"}, None) == []
    with pytest.raises(LatentFileError, match="LoadLatent: 'broken.latent' is not a readable .latent file"):
        values(LoadLatent, ctx, latent="broken.latent")
    save_file({"other": torch.zeros(1)}, str(runtime.folders.input_dir / "other.latent"))
    with pytest.raises(LatentFileError, match="LoadLatent: 'other.latent' holds no 'latent_tensor'"):
        values(LoadLatent, ctx, latent="other.latent")
