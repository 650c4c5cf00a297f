"""The image nodes in a real graph: validation, the executor (list semantics of RebatchImages), saved files."""

from PIL import Image

from graph.executor import Executor
from graph.validate import validate_prompt
from nodes.build import build_registry


def run(runtime, prompt: dict, sink=None):
    registry, _ = build_registry(runtime)
    checked = validate_prompt(prompt, registry)
    assert checked.ok, checked.to_json()
    options = {"sink": sink} if sink else {}
    result = Executor(registry, runtime=runtime).execute(checked.prompt, prompt_id="p1", outputs=checked.outputs,
                                                         **options)
    assert result.status == "success", result.error
    return result


def test_filters_batches_and_an_animated_save_run_as_a_graph(runtime):
    prompt = {
        "1": {"class_type": "EmptyImage", "inputs": {"width": 16, "height": 12, "batch_size": 1, "color": 0x808080}},
        "2": {"class_type": "ImageBlur", "inputs": {"image": ["1", 0], "blur_radius": 2, "sigma": 1.0}},
        "3": {"class_type": "ImageRotate", "inputs": {"image": ["2", 0], "rotation": "90 degrees"}},
        "4": {"class_type": "RepeatImageBatch", "inputs": {"image": ["3", 0], "amount": 3}},
        "7": {"class_type": "ImageAddNoise", "inputs": {"image": ["4", 0], "seed": 5, "strength": 0.2}},
        "5": {"class_type": "RebatchImages", "inputs": {"images": ["7", 0], "batch_size": 2}},
        "6": {"class_type": "SaveAnimatedPNG",
              "inputs": {"images": ["5", 0], "filename_prefix": "graph", "fps": 2.0, "compress_level": 1}},
    }
    result = run(runtime, prompt)
    saved = result.outputs["6"]["images"]
    # RebatchImages made two batches (2 + 1 images): the save node ran once per batch.
    assert [entry["filename"] for entry in saved] == ["graph_00001_.png", "graph_00002_.png"]
    assert result.outputs["6"]["animated"] == [True, False]
    with Image.open(runtime.folders.output_dir / "graph_00001_.png") as picture:
        assert picture.size == (12, 16) and picture.n_frames == 2  # (Pillow merges identical frames)


def test_validation_refuses_an_unknown_blend_mode(runtime):
    registry, _ = build_registry(runtime)
    prompt = {
        "1": {"class_type": "EmptyImage", "inputs": {"width": 8, "height": 8, "batch_size": 1, "color": 0}},
        "2": {"class_type": "ImageBlend",
              "inputs": {"image1": ["1", 0], "image2": ["1", 0], "blend_factor": 2.0, "blend_mode": "darken"}},
        "3": {"class_type": "PreviewImage", "inputs": {"images": ["2", 0]}},
    }
    checked = validate_prompt(prompt, registry)
    assert not checked.ok
    errors = checked.node_errors["2"]["errors"]
    assert {(e["type"], e["extra_info"]["input_name"]) for e in errors} == {
        ("value_bigger_than_max", "blend_factor"), ("value_not_in_list", "blend_mode")}
