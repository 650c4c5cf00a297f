"""LatentCrop, LatentFlip, LatentRotate and RebatchLatents: hand-worked values, list semantics, clear errors."""

import pytest
import torch

from graph.events import ListSink
from graph.executor import Executor
from graph.validate import validate_prompt
from nodes.build import build_registry
from nodes.library.latent.latent_transform import LatentCrop, LatentFlip, LatentRotate
from nodes.library.latent.rebatch import RebatchLatents
from tests.nodes.sd_fakes import schema, values


@pytest.fixture
def ctx(make_ctx):
    return make_ctx()


def two_by_three(**extra):
    """One channel [[1, 2, 3], [4, 5, 6]]."""
    return {"samples": torch.tensor([[[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]]]), **extra}


def grid(height, width, batch=1):
    """Samples [batch, 1, height, width] whose value is 100 x row + column."""
    rows = torch.arange(height, dtype=torch.float32).reshape(-1, 1) * 100
    plane = rows + torch.arange(width, dtype=torch.float32)
    return {"samples": plane.expand(batch, 1, height, width).clone()}


def test_flip_x_axis_is_upside_down_and_y_axis_is_left_to_right(ctx):
    mask = torch.ones(1, 1, 16, 24)
    source = two_by_three(noise_mask=mask, batch_index=[2])
    (vertical,) = values(LatentFlip, ctx, samples=source, flip_method="x-axis: vertically")
    (horizontal,) = values(LatentFlip, ctx, samples=source, flip_method="y-axis: horizontally")
    assert vertical["samples"][0, 0].tolist() == [[4.0, 5.0, 6.0], [1.0, 2.0, 3.0]]
    assert horizontal["samples"][0, 0].tolist() == [[3.0, 2.0, 1.0], [6.0, 5.0, 4.0]]
    assert vertical["noise_mask"] is mask and vertical["batch_index"] == [2]
    assert source["samples"][0, 0].tolist() == [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    with pytest.raises(ValueError, match="LatentFlip: flip_method must be one of"):
        values(LatentFlip, ctx, samples=source, flip_method="diagonal")


def test_rotate_turns_clockwise(ctx):
    source = two_by_three()
    turned = {rotation: values(LatentRotate, ctx, samples=source, rotation=rotation)[0]["samples"][0, 0].tolist()
              for rotation in ("none", "90 degrees", "180 degrees", "270 degrees")}
    assert turned["none"] == [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    assert turned["90 degrees"] == [[4.0, 1.0], [5.0, 2.0], [6.0, 3.0]]
    assert turned["180 degrees"] == [[6.0, 5.0, 4.0], [3.0, 2.0, 1.0]]
    assert turned["270 degrees"] == [[3.0, 6.0], [2.0, 5.0], [1.0, 4.0]]
    with pytest.raises(ValueError, match="LatentRotate: rotation must be one of"):
        values(LatentRotate, ctx, samples=source, rotation="45 degrees")


def test_crop_takes_pixel_coordinates_divided_by_8(ctx):
    source = grid(16, 16)  # a 128 x 128 pixel latent
    (out,) = values(LatentCrop, ctx, samples=source, width=64, height=72, x=32, y=16)
    assert torch.equal(out["samples"], source["samples"][:, :, 2:11, 4:12])
    assert out["samples"][0, 0, 0, 0] == 204.0


def test_crop_keeps_at_least_64_pixels_inside_and_stops_at_the_edges(ctx):
    source = grid(16, 12)
    (out,) = values(LatentCrop, ctx, samples=source, width=512, height=64, x=120, y=200)
    # x 120 -> 15, moved back to 12 - 8 = 4; y 200 -> 25, moved back to 16 - 8 = 8.
    assert torch.equal(out["samples"], source["samples"][:, :, 8:16, 4:12])
    (small,) = values(LatentCrop, ctx, samples=grid(4, 4), width=64, height=64, x=16, y=0)
    assert torch.equal(small["samples"], grid(4, 4)["samples"])
    with pytest.raises(ValueError, match="LatentCrop: input 'samples' must hold samples of shape"):
        values(LatentCrop, ctx, samples={"samples": torch.zeros(4, 8)}, width=64, height=64, x=0, y=0)


def test_rebatch_regroups_a_list_and_numbers_the_entries(ctx):
    latents = [grid(2, 2, batch=3), grid(2, 2, batch=2)]
    (batches,) = values(RebatchLatents, ctx, latents=latents, batch_size=[2])
    assert [b["samples"].shape[0] for b in batches] == [2, 2, 1]
    assert [b["batch_index"] for b in batches] == [[0, 1], [2, 3], [4]]
    assert all("noise_mask" not in b for b in batches)
    assert torch.equal(torch.cat([b["samples"] for b in batches]), torch.cat([x["samples"] for x in latents]))


def test_rebatch_starts_a_new_batch_at_another_size_and_keeps_masks(ctx):
    masked = grid(2, 2, batch=2)
    masked["noise_mask"] = torch.zeros(1, 1, 16, 16)
    masked["batch_index"] = [7, 8]
    latents = [masked, grid(2, 2, batch=1), grid(3, 3, batch=2)]
    (batches,) = values(RebatchLatents, ctx, latents=latents, batch_size=[4])
    assert [tuple(b["samples"].shape) for b in batches] == [(3, 1, 2, 2), (2, 1, 3, 3)]
    assert batches[0]["batch_index"] == [7, 8, 2] and batches[1]["batch_index"] == [3, 4]
    mask = batches[0]["noise_mask"]
    assert mask.shape == (3, 1, 16, 16)
    assert not mask[:2].any() and bool((mask[2] == 1).all())
    assert "noise_mask" not in batches[1]


def test_rebatch_schema_takes_lists_and_gives_a_list(ctx):
    declared = schema(RebatchLatents)
    assert declared.input_is_list and declared.outputs[0].is_list
    with pytest.raises(TypeError, match="RebatchLatents: input .latents\\[1\\]. must be a LATENT dict"):
        values(RebatchLatents, ctx, latents=[grid(2, 2), "nope"], batch_size=[1])


def test_rebatched_latents_run_the_next_node_once_per_batch(runtime):
    registry, _ = build_registry(runtime)
    prompt = {
        "1": {"class_type": "EmptyLatentImage", "inputs": {"width": 64, "height": 64, "batch_size": 5}},
        "2": {"class_type": "RebatchLatents", "inputs": {"latents": ["1", 0], "batch_size": 2}},
        "3": {"class_type": "SaveLatent", "inputs": {"samples": ["2", 0], "filename_prefix": "rebatched"}},
    }
    checked = validate_prompt(prompt, registry)
    assert checked.ok, checked.to_json()
    result = Executor(registry, runtime=runtime).execute(checked.prompt, prompt_id="p", outputs=checked.outputs,
                                                         sink=ListSink())
    assert result.status == "success", result.error
    saved = sorted(p.name for p in runtime.folders.output_dir.iterdir())
    assert saved == ["rebatched_00001_.latent", "rebatched_00002_.latent", "rebatched_00003_.latent"]
