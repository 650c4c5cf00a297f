"""V3 packs as /object_info shows them (ComfyUI's GET_NODE_INFO_V1 entry, key by key) and how packs load:
comfy_entrypoint packs, packs with both a mapping and an entry point, and entry points that fail."""

from __future__ import annotations

import json

import pytest

from graph.executor import Executor
from graph.validate import validate_prompt
from nodes.build import build_registry
from tests.nodes.compat.v3_pack_source import BOTH, BROKEN, PACK

NOT_EXTENSION = "async def comfy_entrypoint():\n    return 42\n"
BAD_NODE = '''
from comfy_api.latest import ComfyExtension, io


class NoSchema(io.ComfyNode):
    @classmethod
    def execute(cls):
        return io.NodeOutput()


class Fine(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(node_id="V3Fine", inputs=[io.Int.Input("x"), io.Int.Input("x")])

    @classmethod
    def execute(cls, x):
        return io.NodeOutput()


class Ext(ComfyExtension):
    async def get_node_list(self):
        return [NoSchema, Fine]


async def comfy_entrypoint():
    return Ext()
'''


@pytest.fixture
def loaded(runtime, tmp_path):
    directory = tmp_path / "custom_nodes"
    directory.mkdir()
    for name, source in {"a_broken": BROKEN, "b_not_extension": NOT_EXTENSION, "both": BOTH, "v3pack": PACK,
                         "z_bad_node": BAD_NODE}.items():
        (directory / f"{name}.py").write_text(source, encoding="utf-8")
    return build_registry(runtime, [directory])


# What ComfyUI's Schema.get_v1_info gives for V3Scale (tests/nodes/compat/v3_pack_source.py), key by key.
COMFYUI_V3_SCALE = {
    "input": {
        "required": {
            "image": ["IMAGE", {}],
            "factor": ["FLOAT", {"tooltip": "multiplier", "default": 1.0, "min": 0.0, "max": 4.0, "step": 0.1}],
            "steps": ["INT", {"default": 20, "min": 1, "max": 100, "display": "slider"}],
            "mode": ["COMBO", {"default": "multiply", "multiselect": False, "options": ["multiply", "add"]}],
        },
        "optional": {"note": ["STRING", {"default": "", "multiline": True}]},
        "hidden": {"unique_id": ["UNIQUE_ID"], "prompt": ["PROMPT"]},
    },
    "input_order": {"required": ["image", "factor", "steps", "mode"], "optional": ["note"],
                    "hidden": ["unique_id", "prompt"]},
    "is_input_list": False,
    "output": ["IMAGE", "STRING"],
    "output_is_list": [False, False],
    "output_name": ["scaled", "STRING"],
    "output_tooltips": ["the scaled image", None],
    "output_matchtypes": None,
    "name": "V3Scale",
    "display_name": "V3 Scale",
    "description": "Scales an image.",
    "python_module": "custom_nodes.v3pack",
    "category": "testing/v3",
    "output_node": False,
    "deprecated": False,
    "experimental": True,
    "dev_only": False,
    "api_node": False,
    "price_badge": None,
    "search_aliases": None,
    "essentials_category": None,
    "has_intermediate_output": False,
}


def test_object_info_is_comfyuis_entry_key_by_key(loaded):
    registry, _ = loaded
    info = json.loads(json.dumps(registry.object_info()))  # as the HTTP route sends it
    entry = info["V3Scale"]
    assert list(entry) == list(COMFYUI_V3_SCALE)
    for key, expected in COMFYUI_V3_SCALE.items():
        assert entry[key] == expected, key
    assert registry.object_info_for("V3Scale") == {"V3Scale": entry}


def test_an_output_node_gets_comfyuis_hidden_prompt_and_pnginfo(loaded):
    registry, _ = loaded
    show = registry.object_info()["V3Show"]
    assert show["output_node"] is True and show["output"] == [] and show["output_tooltips"] == []
    assert show["input"]["hidden"] == {"prompt": ["PROMPT"], "extra_pnginfo": ["EXTRA_PNGINFO"]}
    assert show["input"]["required"] == {"text": ["STRING", {"forceInput": True, "multiline": False}]}
    assert show["display_name"] is None and show["python_module"] == "custom_nodes.v3pack"


def test_failing_entry_points_are_reported_and_the_other_packs_load(loaded):
    registry, report = loaded
    failed = {f.name: f.error for f in report.failed}
    assert failed == {"a_broken": "RuntimeError: the extension cannot start",
                      "b_not_extension": "PackError: comfy_entrypoint() must return a ComfyExtension "
                                         "(with get_node_list()), got int"}
    assert "V3Scale" in registry and report.pack("v3pack").node_ids[0] == "V3Scale"
    bad = report.pack("z_bad_node")
    assert bad.node_ids == [] and len(bad.refused) == 2
    assert "'NoSchema' refused" in bad.refused[0] and "no define_schema()" in bad.refused[0]
    assert "'Fine' refused" in bad.refused[1] and "input ids must be unique, but ['x'] are not" in bad.refused[1]


def test_a_pack_with_a_mapping_and_an_entry_point_registers_both(loaded, runtime):
    registry, report = loaded
    assert report.pack("both").node_ids == ["ClassicBoth", "V3Mapped", "V3Extra"]
    assert "V3Pinned" not in registry  # the mapped class is registered once, under its mapping key
    assert registry.object_info()["V3Mapped"]["name"] == "V3Mapped"
    prompt = {"1": {"class_type": "ClassicBoth", "inputs": {"x": 3}},
              "2": {"class_type": "V3Mapped", "inputs": {"x": ["1", 0]}},
              "3": {"class_type": "V3Extra", "inputs": {"x": ["2", 0]}},
              "4": {"class_type": "V3Show", "inputs": {"text": ["5", 0]}},
              "5": {"class_type": "V3Text", "inputs": {"text": "done"}}}
    checked = validate_prompt(prompt, registry, partial_targets=None)
    assert checked.ok, checked.to_json()
    result = Executor(registry, runtime=runtime).execute(checked.prompt, prompt_id="p", outputs=["4"])
    assert result.status == "success" and result.outputs["4"] == {"text": ["DONE ([])"]}
    node = registry.get("V3Extra")
    assert node.execute(None, {"x": 5}).values == (5,)
