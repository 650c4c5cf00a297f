"""Mask nodes in a real graph: validation, the executor, and the preview file at the end."""

import numpy as np
from PIL import Image

from graph.executor import Executor
from graph.validate import validate_prompt
from nodes.build import build_registry


def test_a_mask_graph_runs_through_validation_and_the_executor(runtime):
    registry, _ = build_registry(runtime)
    prompt = {
        "1": {"class_type": "SolidMask", "inputs": {"value": 0.0, "width": 8, "height": 6}},
        "2": {"class_type": "SolidMask", "inputs": {"value": 1.0, "width": 2, "height": 2}},
        "3": {"class_type": "MaskComposite",
              "inputs": {"destination": ["1", 0], "source": ["2", 0], "x": 3, "y": 2, "operation": "add"}},
        "4": {"class_type": "GrowMask", "inputs": {"mask": ["3", 0], "expand": 1, "tapered_corners": False}},
        "5": {"class_type": "MaskToImage", "inputs": {"mask": ["4", 0]}},
        "6": {"class_type": "ImageToMask", "inputs": {"image": ["5", 0], "channel": "blue"}},
        "7": {"class_type": "MaskPreview", "inputs": {"mask": ["6", 0]}},
    }
    checked = validate_prompt(prompt, registry)
    assert checked.ok, checked.to_json()
    result = Executor(registry, runtime=runtime).execute(checked.prompt, prompt_id="p1", outputs=checked.outputs)
    assert result.status == "success", result.error
    entry = result.outputs["7"]["images"][0]
    with Image.open(runtime.folders.temp_dir / entry["filename"]) as png:
        pixels = np.asarray(png)[..., 0]
    expected = np.zeros((6, 8), dtype=np.uint8)
    expected[1:5, 2:6] = 255  # the 2 x 2 square at (3, 2), grown by one pixel on every side
    assert np.array_equal(pixels, expected)


def test_validation_refuses_an_unknown_operation_and_a_negative_offset(runtime):
    registry, _ = build_registry(runtime)
    prompt = {
        "1": {"class_type": "SolidMask", "inputs": {"value": 1.0, "width": 4, "height": 4}},
        "2": {"class_type": "MaskComposite",
              "inputs": {"destination": ["1", 0], "source": ["1", 0], "x": -1, "y": 0, "operation": "max"}},
        "3": {"class_type": "MaskPreview", "inputs": {"mask": ["2", 0]}},
    }
    checked = validate_prompt(prompt, registry)
    assert not checked.ok
    errors = checked.node_errors["2"]["errors"]
    assert {(e["type"], e["extra_info"]["input_name"]) for e in errors} == {
        ("value_smaller_than_min", "x"), ("value_not_in_list", "operation")}
