"""IMAGE file nodes: loading (masks, EXIF, frames, refused names), saving (chunks, counters), a real graph."""

import json
import os
import re

import numpy as np
import pytest
import torch
from PIL import Image

from folders.output_names import expand_prefix
from graph.context import NodeContext
from nodes.library.image.image_io import ImageLoadError
from nodes.library.image.load_save import LoadImage, LoadImageMask, PreviewImage, SaveImage
from nodes.library.image.save_paths import SavePathError
from tests.nodes.sd_fakes import execute, gradient, schema, values, write_image

NO_RUNTIME = NodeContext(node_id="", prompt_id="")  # what fingerprint/validate get without a runtime


@pytest.fixture
def ctx(make_ctx):
    return make_ctx()


@pytest.fixture
def folders(runtime):
    return runtime.folders


# ---------------------------------------------------------------------------- LoadImage


def test_rgba_png_gives_rgb_image_and_inverted_alpha_mask(ctx, folders):
    pixels = gradient(6, 5, 4, seed=1)
    write_image(folders.input_dir / "rgba.png", pixels)
    image, mask = values(LoadImage, ctx, image="rgba.png")
    assert image.shape == (1, 6, 5, 3) and image.dtype == torch.float32
    assert torch.equal(image[0], torch.from_numpy(pixels[..., :3].astype(np.float32) / 255.0))
    assert mask.shape == (1, 6, 5)
    assert torch.allclose(mask[0], 1.0 - torch.from_numpy(pixels[..., 3].astype(np.float32) / 255.0))


def test_opaque_image_gets_a_64_by_64_zero_mask(ctx, folders):
    write_image(folders.input_dir / "rgb.jpg", gradient(10, 12), quality=95)
    image, mask = values(LoadImage, ctx, image="rgb.jpg")
    assert image.shape == (1, 10, 12, 3)
    assert mask.shape == (1, 64, 64) and not mask.any()


def test_palette_transparency_becomes_the_mask(ctx, folders):
    picture = Image.new("P", (4, 3), 1)
    picture.putpalette([0, 0, 0, 255, 255, 255] + [0] * 762)
    picture.putpixel((2, 1), 0)
    picture.save(folders.input_dir / "palette.png", transparency=0)
    _, mask = values(LoadImage, ctx, image="palette.png")
    expected = torch.zeros(3, 4)
    expected[1, 2] = 1.0
    assert torch.equal(mask[0], expected)


def test_sixteen_bit_greyscale_keeps_its_levels(ctx, folders):
    levels = (np.arange(16, dtype=np.uint16).reshape(4, 4) * 4000)
    Image.fromarray(levels).save(folders.input_dir / "deep.png")
    image, _ = values(LoadImage, ctx, image="deep.png")
    expected = np.clip(np.floor(levels / 255.0), 0, 255) / 255.0
    assert np.allclose(image[0, ..., 0].numpy(), expected, atol=1 / 255)
    (mask,) = values(LoadImageMask, ctx, image="deep.png", channel="red")
    assert np.allclose(mask[0].numpy(), expected, atol=1 / 255)


def test_exif_orientation_is_applied(ctx, folders):
    pixels = np.zeros((2, 4, 3), dtype=np.uint8)
    pixels[0, 0] = (255, 0, 0)
    exif = Image.Exif()
    exif[0x0112] = 6  # stored picture must be turned 90 degrees clockwise for display
    write_image(folders.input_dir / "turned.png", pixels, exif=exif)
    image, _ = values(LoadImage, ctx, image="turned.png")
    assert image.shape == (1, 4, 2, 3)
    assert image[0, 0, 1].tolist() == [1.0, 0.0, 0.0]
    assert image[0].sum() == 1.0


def test_frames_of_the_first_size_become_a_batch(ctx, folders):
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255)]
    frames = [Image.new("RGB", (8, 6), c) for c in colours]
    odd = Image.new("RGB", (4, 4), (9, 9, 9))
    frames[0].save(folders.input_dir / "frames.tiff", save_all=True, append_images=[frames[1], odd, frames[2]])
    image, mask = values(LoadImage, ctx, image="frames.tiff")
    assert image.shape == (3, 6, 8, 3) and mask.shape == (3, 64, 64)
    assert [image[i, 0, 0].tolist() for i in range(3)] == [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]


def test_subfolder_and_annotated_names_load(ctx, folders):
    write_image(folders.input_dir / "sub" / "deep.png", gradient(4, 4))
    write_image(folders.output_dir / "made.png", gradient(5, 5))
    write_image(folders.temp_dir / "preview.png", gradient(3, 3))
    assert values(LoadImage, ctx, image="sub/deep.png")[0].shape == (1, 4, 4, 3)
    assert values(LoadImage, ctx, image="made.png [output]")[0].shape == (1, 5, 5, 3)
    assert values(LoadImage, ctx, image="preview.png [temp]")[0].shape == (1, 3, 3, 3)
    assert LoadImage.validate(ctx, image="sub/deep.png") is True
    assert LoadImage.validate(ctx, image="made.png [output]") is True


@pytest.mark.parametrize("name, reason", [
    ("../secret.png", "contains '..'"),
    ("sub/../../secret.png", "contains '..'"),
    ("/etc/passwd", "absolute path"),
    ("a\\b.png", "backslash"),
    ("x\x00.png", "NUL"),
    ("../secret.png [output]", "contains '..'"),
])
def test_names_leaving_the_folders_are_refused(ctx, folders, name, reason):
    (folders.base_dir / "secret.png").write_bytes(b"not for you")
    with pytest.raises(ImageLoadError, match=f"LoadImage: refused image name .*{re.escape(reason)}"):
        values(LoadImage, ctx, image=name)
    assert reason in LoadImage.validate(ctx, image=name)
    assert reason in LoadImage.validate(NO_RUNTIME, image=name)  # the name alone is checked without a runtime


def test_a_symlink_pointing_outside_is_refused(ctx, folders, tmp_path):
    outside = write_image(tmp_path / "outside.png", gradient(4, 4))
    os.symlink(outside, folders.input_dir / "link.png")
    with pytest.raises(ImageLoadError, match="points outside the folder"):
        values(LoadImage, ctx, image="link.png")
    assert "points outside" in LoadImage.validate(ctx, image="link.png")


def test_missing_and_unreadable_files_are_named(ctx, folders):
    with pytest.raises(ImageLoadError, match="LoadImage: image 'gone.png' was not found in the input folder"):
        values(LoadImage, ctx, image="gone.png")
    assert "'gone.png' was not found" in LoadImage.validate(ctx, image="gone.png")
    assert LoadImage.validate(ctx, image=None) is True  # linked: checked at run time
    (folders.input_dir / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    with pytest.raises(ImageLoadError, match="cannot read 'broken.png' as an image"):
        values(LoadImage, ctx, image="broken.png")


def test_fingerprint_is_the_file_hash_and_follows_changes(ctx, folders):
    path = write_image(folders.input_dir / "a.png", gradient(4, 4, seed=1))
    first = LoadImage.fingerprint(ctx, image="a.png")
    assert first == LoadImage.fingerprint(ctx, image="a.png")
    write_image(path, gradient(4, 4, seed=2))
    assert LoadImage.fingerprint(ctx, image="a.png") != first
    with pytest.raises(RuntimeError, match="will run every time"):
        LoadImage.fingerprint(NO_RUNTIME, image="a.png")


def test_combo_lists_top_level_image_files(runtime, folders):
    write_image(folders.input_dir / "b.png", gradient(2, 2))
    write_image(folders.input_dir / "a.jpg", gradient(2, 2))
    (folders.input_dir / "notes.txt").write_text("x")
    write_image(folders.input_dir / "sub" / "c.png", gradient(2, 2))
    assert schema(LoadImage, runtime).input("image").choices == ("a.jpg", "b.png")
    assert schema(LoadImageMask, runtime).input("image").choices == ("a.jpg", "b.png", "notes.txt")


def test_load_image_mask_reads_one_channel(ctx, folders):
    pixels = gradient(3, 4, 4, seed=3)
    write_image(folders.input_dir / "m.png", pixels)
    (red,) = values(LoadImageMask, ctx, image="m.png", channel="red")
    assert red.shape == (1, 3, 4) and torch.allclose(red[0], torch.from_numpy(pixels[..., 0] / 255.0).float())
    (alpha,) = values(LoadImageMask, ctx, image="m.png", channel="alpha")
    assert torch.allclose(alpha[0], 1.0 - torch.from_numpy(pixels[..., 3] / 255.0).float())
    write_image(folders.input_dir / "opaque.png", gradient(3, 4))
    (opaque,) = values(LoadImageMask, ctx, image="opaque.png", channel="alpha")
    assert opaque.shape == (1, 3, 4) and not opaque.any()
    with pytest.raises(ImageLoadError, match="LoadImageMask: image 'nope.png' was not found"):
        values(LoadImageMask, ctx, image="nope.png", channel="red")


# ---------------------------------------------------------------------------- SaveImage / PreviewImage

PROMPT = {"1": {"class_type": "EmptyImage", "inputs": {"width": 4}}}
WORKFLOW = {"last_node_id": 1, "nodes": [{"id": 1, "type": "EmptyImage"}], "links": [], "version": 0.4}


def test_save_writes_pngs_with_prompt_and_workflow_chunks(ctx, folders):
    images = torch.rand(2, 5, 7, 3)
    before = images.clone()
    output = execute(SaveImage, ctx, images=images, filename_prefix="ComfyUI", prompt=PROMPT,
                     extra_pnginfo={"workflow": WORKFLOW})
    assert output.values == ()
    assert output.ui == {"images": [
        {"filename": "ComfyUI_00001_.png", "subfolder": "", "type": "output"},
        {"filename": "ComfyUI_00002_.png", "subfolder": "", "type": "output"},
    ]}
    for index in range(2):
        with Image.open(folders.output_dir / f"ComfyUI_0000{index + 1}_.png") as png:
            assert json.loads(png.text["prompt"]) == PROMPT
            assert json.loads(png.text["workflow"]) == WORKFLOW
            expected = np.clip(images[index].numpy() * 255.0, 0, 255).astype(np.uint8)  # truncated like ComfyUI
            assert np.array_equal(np.asarray(png.convert("RGB")), expected)
    assert torch.equal(images, before)


def test_counter_continues_after_the_highest_existing_file(ctx, folders):
    for name in ("pic_00003_.png", "pic_00007_.png", "pic_old.png", "Pictures_00050_.png", "pic_00009.png"):
        (folders.output_dir / name).write_bytes(b"")
    output = execute(SaveImage, ctx, images=torch.rand(1, 4, 4, 3), filename_prefix="pic")
    assert output.ui["images"][0]["filename"] == "pic_00008_.png"
    assert (folders.output_dir / "pic_00008_.png").is_file()


def test_prefix_with_subfolder_and_variables(ctx, folders):
    output = execute(SaveImage, ctx, images=torch.rand(1, 6, 10, 3), filename_prefix="runs/a/img_%width%x%height%")
    entry = output.ui["images"][0]
    assert entry == {"filename": "img_10x6_00001_.png", "subfolder": "runs/a", "type": "output"}
    assert (folders.output_dir / "runs" / "a" / "img_10x6_00001_.png").is_file()
    again = execute(SaveImage, ctx, images=torch.rand(1, 6, 10, 3), filename_prefix="runs/a/img_%width%x%height%")
    assert again.ui["images"][0]["filename"] == "img_10x6_00002_.png"


def test_date_variables_and_batch_numbers(ctx, folders):
    import time
    now = time.struct_time((2024, 3, 5, 7, 8, 9, 0, 0, 0))
    assert expand_prefix("%year%-%month%-%day%_%hour%%minute%%second%", 1, 1, now) == "2024-03-05_070809"
    output = execute(SaveImage, ctx, images=torch.rand(2, 4, 4, 3), filename_prefix="b%batch_num%")
    assert [e["filename"] for e in output.ui["images"]] == ["b0_00001_.png", "b1_00002_.png"]
    again = execute(SaveImage, ctx, images=torch.rand(2, 4, 4, 3), filename_prefix="b%batch_num%")
    assert [e["filename"] for e in again.ui["images"]] == ["b0_00003_.png", "b1_00004_.png"]


@pytest.mark.parametrize("prefix, reason", [
    ("../escape", "contains '..'"),
    ("sub/../../escape", "contains '..'"),
    ("/tmp/escape", "absolute path"),
    ("", "non-empty string"),
    ("a\\b", "backslash"),
])
def test_prefixes_leaving_the_output_folder_are_refused(ctx, folders, prefix, reason):
    with pytest.raises(SavePathError, match=re.escape(reason)):
        execute(SaveImage, ctx, images=torch.rand(1, 4, 4, 3), filename_prefix=prefix)
    assert not list(folders.base_dir.glob("*.png"))


def test_a_symlinked_subfolder_pointing_outside_is_refused(ctx, folders, tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    os.symlink(outside, folders.output_dir / "link")
    with pytest.raises(SavePathError, match="points outside the folder"):
        execute(SaveImage, ctx, images=torch.rand(1, 4, 4, 3), filename_prefix="link/x")
    assert not list(outside.iterdir())


@pytest.mark.parametrize("bad", ["pixels", torch.rand(4, 4, 3), torch.rand(1, 4, 4, 2), torch.rand(0, 4, 4, 3)])
def test_save_refuses_what_is_not_an_image_batch(ctx, bad):
    with pytest.raises((TypeError, ValueError), match="SaveImage: images must be an IMAGE tensor"):
        execute(SaveImage, ctx, images=bad, filename_prefix="x")


def test_metadata_can_be_disabled_and_other_channel_counts_save(ctx, folders):
    ctx.runtime.disable_metadata = True
    execute(SaveImage, ctx, images=torch.rand(1, 4, 4, 4), filename_prefix="rgba", prompt=PROMPT)
    execute(SaveImage, ctx, images=torch.rand(1, 4, 4, 1), filename_prefix="grey", prompt=PROMPT)
    with Image.open(folders.output_dir / "rgba_00001_.png") as png:
        assert png.mode == "RGBA" and "prompt" not in png.text
    with Image.open(folders.output_dir / "grey_00001_.png") as png:
        assert png.mode == "L"


def test_preview_goes_to_temp_with_a_random_suffix(ctx, folders):
    output = execute(PreviewImage, ctx, images=torch.rand(1, 4, 4, 3), prompt=PROMPT)
    entry = output.ui["images"][0]
    assert entry["type"] == "temp" and entry["subfolder"] == ""
    assert re.fullmatch(r"ComfyUI_temp_[a-z]{5}_00001_\.png", entry["filename"])
    with Image.open(folders.temp_dir / entry["filename"]) as png:
        assert json.loads(png.text["prompt"]) == PROMPT
    assert not list(folders.output_dir.iterdir())


def test_schemas_match_comfyui(runtime):
    load = schema(LoadImage, runtime)
    assert load.output_types == ("IMAGE", "MASK") and load.input("image").options == {"image_upload": True}
    assert "image" in load.custom_validated
    save = schema(SaveImage)
    assert save.output_node and save.hidden == (("prompt", "PROMPT"), ("extra_pnginfo", "EXTRA_PNGINFO"))
    assert [(i.name, i.options.get("default")) for i in save.inputs] == [("images", None),
                                                                        ("filename_prefix", "ComfyUI")]
    assert schema(LoadImageMask, runtime).input("channel").choices == ("alpha", "red", "green", "blue")


# ---------------------------------------------------------------------------- through the real executor


def test_a_small_image_graph_runs_through_validation_and_the_executor(runtime, folders):
    from graph.executor import Executor
    from graph.validate import validate_prompt
    from nodes.build import build_registry

    pixels = gradient(16, 24, 4, seed=5)
    write_image(folders.input_dir / "photo.png", pixels)
    registry, _ = build_registry(runtime)
    prompt = {
        "1": {"class_type": "LoadImage", "inputs": {"image": "photo.png"}},
        "2": {"class_type": "ImageInvert", "inputs": {"image": ["1", 0]}},
        "3": {"class_type": "ImagePadForOutpaint",
              "inputs": {"image": ["2", 0], "left": 8, "top": 0, "right": 0, "bottom": 0, "feathering": 0}},
        "4": {"class_type": "SaveImage", "inputs": {"images": ["3", 0], "filename_prefix": "graph/out"}},
        "5": {"class_type": "PreviewImage", "inputs": {"images": ["1", 0]}},
    }
    checked = validate_prompt(prompt, registry)
    assert checked.ok, checked.to_json()
    result = Executor(registry, runtime=runtime).execute(
        checked.prompt, prompt_id="p1", outputs=checked.outputs, extra_data={"extra_pnginfo": {"workflow": WORKFLOW}})
    assert result.status == "success", result.error
    assert result.outputs["4"] == {"images": [{"filename": "out_00001_.png", "subfolder": "graph", "type": "output"}]}
    assert result.outputs["5"]["images"][0]["type"] == "temp"
    with Image.open(folders.output_dir / "graph" / "out_00001_.png") as png:
        assert png.size == (32, 16)
        assert json.loads(png.text["workflow"]) == WORKFLOW
        assert json.loads(png.text["prompt"])["4"]["class_type"] == "SaveImage"
        saved = np.asarray(png.convert("RGB"))
    assert (saved[:, :8] == 127).all()
    inverted = 1.0 - pixels[..., :3].astype(np.float32) / 255.0
    assert np.array_equal(saved[:, 8:], np.clip(inverted * 255.0, 0, 255).astype(np.uint8))


def test_validation_reports_a_refused_image_name_on_the_node(runtime):
    from graph.validate import validate_prompt
    from nodes.build import build_registry

    registry, _ = build_registry(runtime)
    prompt = {
        "1": {"class_type": "LoadImage", "inputs": {"image": "../../etc/passwd"}},
        "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "x"}},
    }
    checked = validate_prompt(prompt, registry)
    assert not checked.ok
    assert "contains '..'" in json.dumps(checked.node_errors["1"])
