"""ComfyUI V3 nodes (comfy_api.latest) from a pack's comfy_entrypoint, validated and run by graph's executor:
widgets with ranges and combos, images and hidden values, lazy inputs, validate_inputs, fingerprint_inputs,
async execute and ui outputs."""

from __future__ import annotations

import pytest
import torch

from graph.executor import Executor
from graph.validate import validate_prompt
from nodes.build import build_registry
from tests.nodes.compat.v3_pack_source import PACK

IMAGE = {"class_type": "EmptyImage", "inputs": {"width": 4, "height": 2, "batch_size": 1, "color": 0x808080}}


@pytest.fixture
def pack_dir(tmp_path):
    directory = tmp_path / "custom_nodes"
    (directory / "v3pack").mkdir(parents=True)
    (directory / "v3pack" / "__init__.py").write_text(PACK, encoding="utf-8")
    return directory


@pytest.fixture
def registry(runtime, pack_dir):
    registry, report = build_registry(runtime, [pack_dir])
    assert not report.failed and not report.messages, report.messages
    assert report.pack("v3pack").node_ids == ["V3Scale", "V3Text", "V3Switch", "V3Show", "V3Even", "V3Stamped",
                                              "V3Preview"]
    return registry


def run(registry, runtime, prompt, executor=None, extra_data=None):
    checked = validate_prompt(prompt, registry)
    assert checked.ok, checked.to_json()
    executor = executor or Executor(registry, runtime=runtime)
    result = executor.execute(checked.prompt, prompt_id="p1", outputs=checked.outputs, extra_data=extra_data)
    assert result.status == "success", result.error
    return result


def scale_prompt(**inputs):
    return {"1": IMAGE,
            "2": {"class_type": "V3Scale", "inputs": {"image": ["1", 0], "factor": 0.5, "steps": 7, "mode": "multiply",
                                                      **inputs}},
            "3": {"class_type": "V3Show", "inputs": {"text": ["2", 1]}},
            "4": {"class_type": "V3Preview", "inputs": {"images": ["2", 0]}}}


def test_widgets_image_hidden_values_async_execute_and_ui_outputs(registry, runtime):
    result = run(registry, runtime, scale_prompt(note="hi"), extra_data={"extra_pnginfo": {"workflow": {}}})
    # hidden unique_id and prompt reached cls.hidden; the async output node saw extra_pnginfo
    assert result.outputs["3"] == {"text": ["2|1,2,3,4|multiply|7|hi (['workflow'])"]}
    (saved,) = result.outputs["4"]["images"]
    assert result.outputs["4"]["animated"] == [False] and saved["type"] == "temp"
    from PIL import Image

    with Image.open(runtime.folders.temp_dir / saved["subfolder"] / saved["filename"]) as picture:
        assert picture.size == (4, 2)
        assert picture.getpixel((0, 0)) == (64, 64, 64)  # 0x80 / 255 * 0.5, written back as 8 bits
        assert "workflow" in picture.info and "prompt" in picture.info


def test_ranges_and_combos_are_checked_before_anything_runs(registry):
    checked = validate_prompt(scale_prompt(steps=500, factor=-1.0, mode="divide"), registry)
    assert not checked.ok
    errors = {(e["type"], e["extra_info"]["input_name"]) for e in checked.node_errors["2"]["errors"]}
    assert errors == {("value_bigger_than_max", "steps"), ("value_smaller_than_min", "factor"),
                      ("value_not_in_list", "mode")}


def test_a_lazy_input_runs_only_the_branch_check_lazy_status_asks_for(registry, runtime):
    prompt = {"a": {"class_type": "V3Text", "inputs": {"text": "left"}},
              "b": {"class_type": "V3Text", "inputs": {"text": "right"}},
              "s": {"class_type": "V3Switch", "inputs": {"use_a": False, "a": ["a", 0], "b": ["b", 0]}},
              "show": {"class_type": "V3Show", "inputs": {"text": ["s", 0]}}}
    result = run(registry, runtime, prompt)
    assert result.outputs["show"] == {"text": ["RIGHT ([])"]}
    assert "b" in result.executed and "a" not in result.executed


def test_validate_inputs_refuses_bad_input_with_its_message(registry, runtime):
    prompt = {"1": {"class_type": "V3Even", "inputs": {"value": 3}},
              "2": {"class_type": "V3Show", "inputs": {"text": ["3", 0]}},
              "3": {"class_type": "V3Text", "inputs": {"text": ["1", 0]}}}
    checked = validate_prompt(prompt, registry)
    assert not checked.ok
    messages = [e["details"] for e in checked.node_errors["1"]["errors"]]
    assert any("value must be even, got 3" in m for m in messages), checked.node_errors
    prompt["1"]["inputs"]["value"] = 12  # validate_inputs names `value`: the generic max check is skipped
    assert validate_prompt(prompt, registry).node_errors.get("1") is None


def test_fingerprint_inputs_controls_the_cache(registry, runtime, pack_dir):
    stamp = pack_dir / "v3pack" / "stamp.txt"
    assert stamp.read_text() == "one"  # written by the extension's on_load
    prompt = {"1": {"class_type": "V3Stamped", "inputs": {"key": "k"}},
              "2": {"class_type": "V3Show", "inputs": {"text": ["1", 0]}}}
    executor = Executor(registry, runtime=runtime)
    assert run(registry, runtime, prompt, executor).outputs["2"] == {"text": ["k:one ([])"]}
    again = run(registry, runtime, prompt, executor)
    assert "1" not in again.executed and "1" in again.cached
    stamp.write_text("two")
    changed = run(registry, runtime, prompt, executor)
    assert "1" in changed.executed and changed.outputs["2"] == {"text": ["k:two ([])"]}


def test_the_scaled_image_is_the_tensor_the_next_node_gets(registry, runtime):
    node_type = registry.get("V3Scale")
    image = torch.full((1, 2, 2, 3), 0.25)
    out = node_type.execute(None, {"image": image, "factor": 2.0, "steps": 1, "mode": "add",
                                   "__v3_hidden__unique_id": "9", "__v3_hidden__prompt": {"9": {}}})
    torch.testing.assert_close(out.values[0], torch.full((1, 2, 2, 3), 2.25))
    assert out.values[1] == "9|9|add|1|"
