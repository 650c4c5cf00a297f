"""The measuring code reads the dataset's own images perfectly and fails gracefully on others."""

import numpy as np
import pytest
import torch

from diffusion.demo.measure import matches, measure_image
from diffusion.demo.shapes import COLORS, Scene, all_scenes, render, render_batch


def test_ground_truth_images_score_100_percent():
    scenes = all_scenes()[::9]  # 448 scenes covering every colour, shape, position and size
    wrong = []
    for scene, image in zip(scenes, render_batch(scenes), strict=True):
        result = matches(scene, measure_image(image))
        if not all(result.values()):
            wrong.append((scene, result))
    assert wrong == []


def test_small_noise_and_blur_do_not_change_the_reading():
    rng = np.random.default_rng(0)
    for scene in all_scenes()[5::301]:
        image = render(scene)
        blurred = (image + np.roll(image, 1, axis=0) + np.roll(image, 1, axis=1)) / 3
        noisy = np.clip(blurred + rng.normal(0, 0.03, image.shape), 0, 1).astype(np.float32)
        assert all(matches(scene, measure_image(noisy)).values()), scene


def test_torch_images_with_a_batch_dimension_are_accepted():
    scene = Scene("triangle", "green", "white", "left", "large")
    image = torch.from_numpy(render(scene))[None]
    assert all(matches(scene, measure_image(image)).values())


def test_a_plain_image_has_a_background_and_no_shape():
    image = np.tile(np.array(COLORS["purple"], np.float32) / 255, (64, 64, 1))
    measured = measure_image(image)
    assert measured.background == "purple"
    assert measured.shape is None and measured.color is None and measured.position is None and measured.area == 0


def test_wrong_shapes_are_refused():
    with pytest.raises(ValueError, match="height, width, 3"):
        measure_image(np.zeros((64, 64)))
    with pytest.raises(ValueError, match="height, width, 3"):
        measure_image(np.zeros((2, 64, 64, 3)))


def test_a_different_shape_is_told_apart():
    square = render(Scene("square", "red", "blue", "center", "large"))
    assert matches(Scene("circle", "red", "blue", "center", "large"), measure_image(square))["shape"] is False
