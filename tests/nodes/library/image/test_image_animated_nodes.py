"""SaveAnimatedPNG, SaveAnimatedWEBP and LoadImageOutput through a tmp runtime: files, frames, metadata, ui."""

import json

import numpy as np
import pytest
import torch
from PIL import Image, ImageSequence

from nodes.library.image.animated import LoadImageOutput, SaveAnimatedPNG, SaveAnimatedWEBP
from tests.nodes.sd_fakes import execute, gradient, values, write_image


@pytest.fixture
def ctx(make_ctx):
    return make_ctx()


def frames(count: int = 3, size: int = 8) -> torch.Tensor:
    """Frame i filled with grey level 40 * (i + 1) / 255."""
    levels = torch.tensor([40.0 * (i + 1) / 255 for i in range(count)])
    return levels.view(count, 1, 1, 1).expand(count, size, size, 3).clone()


def read_frames(path) -> list:
    with Image.open(path) as picture:
        return [np.asarray(frame.convert("RGB")).copy() for frame in ImageSequence.Iterator(picture)]


def test_save_animated_png_writes_one_apng_with_every_frame(ctx, runtime):
    output = execute(SaveAnimatedPNG, ctx, images=frames(), filename_prefix="anim/clip", fps=4.0, compress_level=6,
                     prompt={"1": {"class_type": "X"}}, extra_pnginfo={"workflow": {"nodes": []}})
    assert output.ui == {"images": [{"filename": "clip_00001_.png", "subfolder": "anim", "type": "output"}],
                         "animated": [True]}
    path = runtime.folders.output_dir / "anim" / "clip_00001_.png"
    pictures = read_frames(path)
    assert [int(p[0, 0, 0]) for p in pictures] == [40, 80, 120]
    with Image.open(path) as picture:
        assert picture.info.get("duration") == 250 and getattr(picture, "n_frames", 1) == 3
    data = path.read_bytes()
    assert b"comfprompt\x00" + json.dumps({"1": {"class_type": "X"}}).encode() in data
    assert data.index(b"comfworkflow\x00") > data.index(b"IDAT")  # after the image data, as ComfyUI writes it
    second = execute(SaveAnimatedPNG, ctx, images=frames(1), filename_prefix="anim/clip", fps=6.0, compress_level=4)
    assert second.ui == {"images": [{"filename": "clip_00002_.png", "subfolder": "anim", "type": "output"}],
                         "animated": [False]}


def test_save_animated_webp_writes_frames_and_exif(ctx, runtime):
    output = execute(SaveAnimatedWEBP, ctx, images=frames(), filename_prefix="clip", fps=10.0, lossless=True,
                     quality=80, method="fastest", prompt={"1": {}}, extra_pnginfo={"workflow": {"a": 1}})
    assert output.ui["images"] == [{"filename": "clip_00001_.webp", "subfolder": "", "type": "output"}]
    assert output.ui["animated"] == [True]
    path = runtime.folders.output_dir / "clip_00001_.webp"
    assert [int(p[0, 0, 0]) for p in read_frames(path)] == [40, 80, 120]  # lossless
    with Image.open(path) as picture:
        exif = picture.getexif()
        assert exif[0x0110] == 'prompt:{"1": {}}' and exif[0x010F] == 'workflow:{"a": 1}'


def test_animated_saves_refuse_bad_input(ctx):
    with pytest.raises(ValueError, match="SaveAnimatedPNG.*fps"):
        values(SaveAnimatedPNG, ctx, images=frames(), filename_prefix="x", fps=0.0, compress_level=4)
    with pytest.raises(ValueError, match="SaveAnimatedPNG.*compress_level"):
        values(SaveAnimatedPNG, ctx, images=frames(), filename_prefix="x", fps=1.0, compress_level=12)
    with pytest.raises(ValueError, match="SaveAnimatedWEBP.*method"):
        values(SaveAnimatedWEBP, ctx, images=frames(), filename_prefix="x", fps=1.0, lossless=False, quality=80,
               method="best")
    with pytest.raises(ValueError, match="SaveAnimatedWEBP.*not allowed"):
        values(SaveAnimatedWEBP, ctx, images=frames(), filename_prefix="../escape", fps=1.0, lossless=False,
               quality=80, method="default")
    with pytest.raises(ValueError, match="SaveAnimatedPNG.*images"):
        values(SaveAnimatedPNG, ctx, images=torch.zeros(2, 4, 4, 2), filename_prefix="x", fps=1.0,
               compress_level=4)


def test_load_image_output_reads_the_output_folder(ctx, runtime):
    pixels = gradient(6, 5)
    write_image(runtime.folders.output_dir / "result.png", pixels)
    write_image(runtime.folders.input_dir / "result.png", np.zeros((2, 2, 3)))
    for name in ("result.png", "result.png [output]"):
        image, mask = values(LoadImageOutput, ctx, image=name)
        assert torch.allclose(image[0], torch.from_numpy(pixels).float() / 255)
        assert mask.shape == (1, 64, 64)
    (small, _) = values(LoadImageOutput, ctx, image="result.png [input]")  # an annotation is kept
    assert small.shape == (1, 2, 2, 3)


def test_load_image_output_validation_fingerprint_and_listing(runtime):
    from nodes.api.declare import DeclaredNodeType

    node = DeclaredNodeType(LoadImageOutput, runtime)
    write_image(runtime.folders.output_dir / "shot.png", gradient(3, 3))
    assert node.validate({"image": "shot.png"}, None) == []
    assert "was not found in the output folder" in node.validate({"image": "gone.png"}, None)[0][1]
    assert "refused" in node.validate({"image": "../x.png"}, None)[0][1]
    assert len(node.fingerprint({"image": "shot.png"})) == 64
    spec = node.schema().inputs[0]
    assert "shot.png" in spec.choices and spec.options["image_folder"] == "output"
