"""The procedural shapes dataset: determinism, captions, the held-out split, bad input."""

import numpy as np
import pytest

from diffusion.demo.measure import matches, measure_image
from diffusion.demo.shapes import (
    COLORS,
    IMAGE_SIZE,
    POSITIONS,
    SHAPES,
    SIZES,
    Scene,
    all_scenes,
    caption_of,
    heldout_scenes,
    heldout_triples,
    parse_caption,
    render,
    render_batch,
    sample_scenes,
    training_scenes,
)


def test_dataset_size_and_order_are_fixed():
    scenes = all_scenes()
    assert len(scenes) == len(SHAPES) * len(COLORS) * (len(COLORS) - 1) * len(POSITIONS) * len(SIZES)
    assert scenes == all_scenes()
    assert len(set(scenes)) == len(scenes)
    assert all(s.color != s.background for s in scenes)


def test_rendering_is_deterministic_and_in_range():
    scene = Scene("star", "red", "blue", "top left", "large")
    first, second = render(scene), render(scene)
    assert first.shape == (IMAGE_SIZE, IMAGE_SIZE, 3) and first.dtype == np.float32
    np.testing.assert_array_equal(first, second)
    assert first.min() >= 0.0 and first.max() <= 1.0


def test_render_puts_the_shape_colour_at_the_position_and_background_elsewhere():
    scene = Scene("square", "yellow", "black", "bottom right", "small")
    image = render(scene)
    fx, fy = POSITIONS["bottom right"]
    centre = image[int(fy * IMAGE_SIZE), int(fx * IMAGE_SIZE)]
    np.testing.assert_allclose(centre, np.array(COLORS["yellow"]) / 255, atol=1e-6)
    np.testing.assert_allclose(image[2, 2], np.array(COLORS["black"]) / 255, atol=1e-6)


def test_sampling_is_seeded():
    assert sample_scenes(32, seed=5) == sample_scenes(32, seed=5)
    assert sample_scenes(32, seed=5) != sample_scenes(32, seed=6)


def test_captions_describe_the_scene_and_parse_back():
    scene = Scene("circle", "red", "orange", "top left", "small")
    assert caption_of(scene) == "a small red circle on an orange background, top left"
    assert caption_of(Scene("star", "white", "blue", "center", "large")) == "a large white star on a blue background, center"
    for scene in all_scenes()[::37]:
        assert parse_caption(scene.caption) == scene


def test_caption_and_image_agree():
    scenes = sample_scenes(40, seed=3, pool=all_scenes())
    for scene, image in zip(scenes, render_batch(scenes), strict=True):
        described = parse_caption(scene.caption)
        assert all(matches(described, measure_image(image)).values()), scene


def test_heldout_split_is_fixed_and_disjoint_from_training():
    held = heldout_triples()
    assert held == heldout_triples()
    all_triples = {s.triple for s in all_scenes()}
    assert 0.1 <= len(held) / len(all_triples) <= 0.2
    assert not any(s.triple in held for s in training_scenes())
    assert all(s.triple in held for s in heldout_scenes())
    assert len(training_scenes()) + len(heldout_scenes()) == len(all_scenes())
    trained = training_scenes()
    # every single attribute is still taught, only the combinations are new
    assert {s.color for s in trained} == set(COLORS) and {s.background for s in trained} == set(COLORS)
    assert {s.shape for s in trained} == set(SHAPES)


def test_default_sampling_pool_never_yields_heldout_triples():
    held = heldout_triples()
    for seed in range(5):
        assert not any(s.triple in held for s in sample_scenes(200, seed))


@pytest.mark.parametrize("kwargs, words", [
    ({"shape": "hexagon"}, ["shape", "hexagon"]),
    ({"color": "teal"}, ["color", "teal"]),
    ({"background": "pink"}, ["background", "pink"]),
    ({"position": "middle"}, ["position", "middle"]),
    ({"size": "huge"}, ["size", "huge"]),
    ({"color": "blue", "background": "blue"}, ["both", "blue"]),
])
def test_bad_scenes_are_refused_with_a_clear_message(kwargs, words):
    fields = {"shape": "circle", "color": "red", "background": "green", "position": "top", "size": "small", **kwargs}
    with pytest.raises(ValueError) as info:
        Scene(**fields)
    for word in words:
        assert word in str(info.value)


@pytest.mark.parametrize("caption", ["", "a red circle", "a small red circle on a blue background",
                                     "a small red hexagon on a blue background, top",
                                     "a small red circle on a red background, top"])
def test_bad_captions_are_refused(caption):
    with pytest.raises(ValueError):
        parse_caption(caption)


def test_sampling_from_an_empty_pool_is_an_error():
    with pytest.raises(ValueError, match="empty"):
        sample_scenes(3, seed=0, pool=[])
