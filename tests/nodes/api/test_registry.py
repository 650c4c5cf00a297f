"""NodeRegistry: registration rules and the exact /object_info shape of ComfyUI."""

from __future__ import annotations

import json
import logging

import pytest

from graph.schema import Registry
from nodes.api.classic import ClassicNodeType
from nodes.api.declare import Combo, DeclaredNodeType, FileList, Int, Node, Out, Socket, String
from nodes.api.object_info import node_info
from nodes.api.output_sizes import tensor_sizeof
from nodes.api.registry import DuplicateNodeError, NodeRegistry
from nodes.build import BUILTIN_NODE_MODULES, build_registry
from tests.nodes.classic_samples import BatchToList, ComboStyle, HiddenAware, KSampler


def registry_with(*classes, runtime=None):
    registry = NodeRegistry()
    for cls in classes:
        registry.register_class(cls, runtime)
    return registry


def test_registry_protocol_and_lookup():
    registry = registry_with(KSampler)
    assert isinstance(registry, Registry)
    assert registry.class_types() == ["KSampler"]
    assert isinstance(registry.get("KSampler"), ClassicNodeType)
    assert registry.get("Nope") is None
    assert "KSampler" in registry and len(registry) == 1


def test_duplicate_id_is_refused_and_the_first_kept():
    registry = NodeRegistry()
    registry.register_class(KSampler)
    first = registry.get("KSampler")
    with pytest.raises(DuplicateNodeError) as err:
        registry.register_class(KSampler, source="pack 'other'")
    assert "'KSampler'" in str(err.value) and "pack 'other'" in str(err.value) and "built-in" in str(err.value)
    assert registry.get("KSampler") is first


def test_ksampler_object_info_matches_comfyui_key_by_key():
    info = registry_with(KSampler).object_info()["KSampler"]
    assert list(info) == ["input", "input_order", "output", "output_is_list", "output_name", "name",
                          "display_name", "description", "python_module", "category", "output_node",
                          "output_tooltips"]
    required = info["input"]["required"]
    assert required["seed"] == ["INT", {"default": 0, "min": 0, "max": 18446744073709551615,
                                        "control_after_generate": True,
                                        "tooltip": "The random seed used for creating the noise."}]
    assert required["model"] == ["MODEL", {"tooltip": "The model used for denoising the input latent."}]
    assert required["cfg"] == ["FLOAT", {"default": 8.0, "min": 0.0, "max": 100.0, "step": 0.1, "round": 0.01}]
    assert required["sampler_name"] == [["euler", "euler_ancestral", "heun", "dpmpp_2m"],
                                        {"tooltip": "The algorithm used when sampling."}]
    assert required["scheduler"] == [["normal", "karras", "exponential"]]
    assert required["positive"] == ["CONDITIONING"]
    assert list(info["input"]) == ["required"]
    assert info["input_order"] == {"required": ["model", "seed", "steps", "cfg", "sampler_name", "scheduler",
                                                "positive", "negative", "latent_image", "denoise"]}
    assert info["output"] == ["LATENT"]
    assert info["output_is_list"] == [False]
    assert info["output_name"] == ["LATENT"]
    assert info["name"] == "KSampler"
    assert info["display_name"] == "KSampler"
    assert info["description"].startswith("Uses the provided model")
    assert info["python_module"] == "nodes"
    assert info["category"] == "sampling"
    assert info["output_node"] is False
    assert info["output_tooltips"] == ["The denoised latent."]


def test_hidden_optional_and_flags_in_object_info():
    registry = NodeRegistry()
    registry.register_class(HiddenAware, display_name="Save (hidden aware)", python_module="custom_nodes.pack")
    registry.register_class(ComboStyle)
    saver = registry.object_info_for("HiddenAware")["HiddenAware"]
    assert saver["input"]["hidden"] == {"prompt": "PROMPT", "extra_pnginfo": "EXTRA_PNGINFO",
                                        "unique_id": "UNIQUE_ID", "dynprompt": "DYNPROMPT"}
    assert saver["input_order"]["hidden"] == ["prompt", "extra_pnginfo", "unique_id", "dynprompt"]
    assert saver["display_name"] == "Save (hidden aware)"
    assert saver["python_module"] == "custom_nodes.pack"
    assert saver["output"] == [] and saver["output_node"] is True
    assert "output_tooltips" not in saver and "deprecated" not in saver and "api_node" not in saver
    combo = registry.object_info()["ComboStyle"]
    assert combo["input"]["required"]["mode"] == ["COMBO", {"options": ["fast", "slow"], "default": "fast"}]
    assert combo["input"]["optional"] == {"strength": ["FLOAT", {"default": 0.5}]}
    assert combo["input_order"] == {"required": ["mode"], "optional": ["strength"]}
    assert combo["deprecated"] is True and combo["experimental"] is True and combo["api_node"] is False
    assert combo["category"] == "sd"


def test_list_flags_in_object_info():
    info = registry_with(BatchToList).object_info()["BatchToList"]
    assert info["output_is_list"] == [True, False]
    assert info["output_name"] == ["items", "count"]
    assert info["input"]["required"]["values"] == ["INT", {"forceInput": True}]


class DeclaredLoader(Node):
    node_id = "DeclaredLoader"
    display_name = "Load Thing"
    category = "loaders"
    description = "Loads a thing."
    hidden = ("PROMPT",)
    inputs = [Combo("ckpt_name", FileList("checkpoints"), tooltip="The file"),
              Socket("CLIP", "clip", optional=True),
              String("note", default="", multiline=True)]
    outputs = [Out("MODEL", tooltip="the model"), Out("CLIP")]

    @classmethod
    def run(cls, ctx, **inputs):
        return (None, None)


def test_declared_node_object_info(runtime):
    registry = registry_with(DeclaredLoader, runtime=runtime)
    info = registry.object_info()["DeclaredLoader"]
    assert info["input"] == {
        "required": {"ckpt_name": [[], {"tooltip": "The file"}],
                     "note": ["STRING", {"default": "", "multiline": True}]},
        "optional": {"clip": ["CLIP"]},
        "hidden": {"prompt": "PROMPT"},
    }
    assert info["input_order"] == {"required": ["ckpt_name", "note"], "optional": ["clip"], "hidden": ["prompt"]}
    assert info["output"] == ["MODEL", "CLIP"] and info["output_name"] == ["MODEL", "CLIP"]
    assert info["display_name"] == "Load Thing" and info["category"] == "loaders"
    assert info["python_module"] == __name__
    assert info["output_tooltips"] == ["the model", None]
    (runtime.folders.model_paths("checkpoints")[0] / "m.safetensors").write_bytes(b"")
    assert registry.object_info()["DeclaredLoader"]["input"]["required"]["ckpt_name"][0] == ["m.safetensors"]


def test_object_info_is_json_serialisable():
    registry = registry_with(KSampler, HiddenAware, ComboStyle, BatchToList, DeclaredLoader)
    text = json.dumps(registry.object_info())
    assert json.loads(text)["KSampler"]["input"]["required"]["seed"][1]["max"] == 2**64 - 1


def test_a_node_whose_schema_fails_is_logged_and_skipped(caplog):
    class Broken(KSampler):
        @classmethod
        def INPUT_TYPES(cls):
            raise RuntimeError("cannot list files")

    registry = registry_with(KSampler, Broken)
    with caplog.at_level(logging.ERROR, logger="latentgraph.nodes"):
        info = registry.object_info()
    assert list(info) == ["KSampler"]
    assert "Broken" in caplog.text
    assert registry.object_info_for("Broken") == {}
    assert registry.object_info_for("Unknown") == {}


def test_node_info_for_a_bare_schema():
    schema = DeclaredNodeType(DeclaredLoader).schema()
    assert node_info(schema)["python_module"] == __name__
    assert node_info(schema, "Other", "nodes.x")["display_name"] == "Other"


def test_class_type_mapping_must_match_declared_node_id():
    registry = NodeRegistry()
    with pytest.raises(ValueError, match="has node_id 'DeclaredLoader' but is mapped as 'Other'"):
        registry.register_class(DeclaredLoader, class_type="Other")
    with pytest.raises(TypeError, match="neither a declared Node"):
        registry.register_class(dict)


def test_web_directories(tmp_path):
    registry = NodeRegistry()
    registry.add_web_directory("pack", tmp_path)
    assert registry.web_directories() == {"pack": tmp_path}


class FakeTensor:
    def __init__(self, count, size):
        self.count, self.size = count, size

    def element_size(self):
        return self.size

    def numel(self):
        return self.count


class FakeArray:
    nbytes = 4096


class FakeModel:
    def get_ram_usage(self):
        return 10_000


def test_tensor_sizeof_duck_types_and_recurses():
    assert tensor_sizeof(FakeTensor(100, 4)) == 400
    assert tensor_sizeof(FakeArray()) == 4096
    assert tensor_sizeof(FakeModel()) == 10_000
    nested = ({"samples": FakeTensor(10, 2)}, [FakeArray(), FakeArray()])
    assert tensor_sizeof(nested) >= 20 + 2 * 4096
    shared = FakeArray()
    assert tensor_sizeof([shared, shared]) < tensor_sizeof([FakeArray(), FakeArray()])
    cyclic: list = []
    cyclic.append(cyclic)
    assert tensor_sizeof(cyclic) > 0
    assert tensor_sizeof(5) > 0


def test_tensor_sizeof_with_numpy():
    np = pytest.importorskip("numpy")
    assert tensor_sizeof(np.zeros((10, 10), dtype=np.float32)) == 400


def test_build_registry_loads_builtins_then_packs(runtime, tmp_path):
    packs = tmp_path / "custom_nodes"
    packs.mkdir()
    (packs / "clash.py").write_text(
        "class PrimitiveInt:\n"
        "    @classmethod\n"
        "    def INPUT_TYPES(cls):\n        return {'required': {}}\n"
        "    RETURN_TYPES = ()\n    FUNCTION = 'f'\n"
        "    def f(self):\n        return ()\n"
        "class Mine(PrimitiveInt):\n    pass\n"
        "NODE_CLASS_MAPPINGS = {'PrimitiveInt': PrimitiveInt, 'MineNode': Mine}\n")
    registry, report = build_registry(runtime, [packs])
    assert BUILTIN_NODE_MODULES[0] == "nodes.library.utility.basics"
    assert "PrimitiveInt" in registry.class_types() and "MineNode" in registry.class_types()
    assert isinstance(registry.get("PrimitiveInt"), DeclaredNodeType)  # the built-in won
    assert report.pack("clash").node_ids == ["MineNode"]
    assert "built-in" in report.pack("clash").refused[0]
    assert registry.object_info()["MineNode"]["python_module"] == "custom_nodes.clash"


def test_build_registry_without_packs(runtime):
    registry, report = build_registry(runtime)
    assert report.loaded == [] and report.failed == []
    assert {"PrimitiveInt", "SaveText", "CountTo"} <= set(registry.class_types())
    info = registry.object_info()
    assert set(info) == set(registry.class_types())


def test_declared_int_without_default_keeps_comfyui_shape(runtime):
    registry, _ = build_registry(runtime)
    assert registry.object_info()["PrimitiveInt"]["input"]["required"]["value"] == [
        "INT", {"min": -9223372036854775807, "max": 9223372036854775807, "control_after_generate": True}]
    assert Int("x").option_dict() == {}


def test_node_infrastructure_imports_no_torch():
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    code = ("import sys; import nodes.api.declare, nodes.api.classic, nodes.api.registry, nodes.api.plugins, nodes.library.utility.basics, "
            "folders.layout; print('torch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
