"""The example pack in custom_nodes/ loads through the plugin loader and runs through the classic adapter."""

from __future__ import annotations

from pathlib import Path

import pytest

from graph.context import NodeContext
from nodes.build import build_registry

CUSTOM_NODES = Path(__file__).resolve().parents[2] / "custom_nodes"
EXAMPLE_IDS = ["ExampleRepeatText", "ExampleSplitWords", "ExampleJoinWords", "ExampleShowText"]


@pytest.fixture
def loaded(runtime, monkeypatch):
    monkeypatch.setenv("LATENTGRAPH_EXAMPLE_PACK", "1")
    registry, report = build_registry(runtime, [CUSTOM_NODES])
    return registry, report


def test_example_pack_is_off_unless_enabled(runtime, monkeypatch):
    """A fresh install's node search shows no demo nodes: the pack loads but registers nothing."""
    monkeypatch.delenv("LATENTGRAPH_EXAMPLE_PACK", raising=False)
    registry, report = build_registry(runtime, [CUSTOM_NODES])
    pack = report.pack("example_pack")
    assert pack is not None and pack.node_ids == [] and pack.web_dir is None
    assert not [k for k in registry.object_info() if k.startswith("Example")]
    assert "example_pack" not in registry.web_directories()


def ctx(node_id="1"):
    return NodeContext(node_id=node_id, prompt_id="p")


def test_example_pack_loads_with_display_names_and_web_directory(loaded):
    registry, report = loaded
    pack = report.pack("example_pack")
    assert pack is not None, report.messages
    assert pack.node_ids == EXAMPLE_IDS and pack.refused == []
    web = registry.web_directories()["example_pack"]
    assert web == CUSTOM_NODES / "example_pack" / "web" / "js"
    assert [p.name for p in web.glob("*.js")] == ["example_pack.js"]
    info = registry.object_info()
    assert info["ExampleRepeatText"]["display_name"] == "Repeat Text (example)"
    assert info["ExampleRepeatText"]["python_module"] == "custom_nodes.example_pack"
    assert info["ExampleRepeatText"]["input"]["optional"] == {"separator": ["STRING", {"default": " "}]}
    assert info["ExampleRepeatText"]["output_tooltips"] == ["The repeated text"]
    assert info["ExampleSplitWords"]["output_is_list"] == [True, False]
    assert info["ExampleJoinWords"]["input"]["required"]["joiner"] == [["space", "comma", "newline"]]
    assert info["ExampleShowText"]["input"]["hidden"]["unique_id"] == "UNIQUE_ID"


def test_example_nodes_run_through_the_classic_adapter(loaded):
    registry, _ = loaded
    repeat = registry.get("ExampleRepeatText")
    assert repeat.execute(ctx(), {"text": "ab", "times": 3}).values == ("ab ab ab",)
    assert repeat.execute(ctx(), {"text": "ab", "times": 2, "separator": "-"}).values == ("ab-ab",)
    assert repeat.validate({"text": "x" * 1000, "times": 1000}, None)[0][1].startswith("the repeated text")
    assert repeat.validate({"text": None, "times": 5}, None) == []
    assert registry.get("ExampleSplitWords").execute(ctx(), {"text": "a b  c"}).values == (["a", "b", "c"], 3)
    join = registry.get("ExampleJoinWords")
    assert join.schema().input_is_list
    assert join.execute(ctx(), {"words": ["a", "b"], "joiner": ["comma"]}).values == ("a, b",)
    show = registry.get("ExampleShowText")
    assert show.fingerprint({"text": "t"}) == "t"
    out = show.execute(ctx("5"), {"text": "t", "unique_id": "5", "prompt": {}, "extra_pnginfo": None})
    assert out.ui == {"text": ["t"]} and out.values == ("t",)
    assert show.instance("5").calls == 1


def test_example_workflow_through_the_graph_engine(loaded, runtime):
    validate = pytest.importorskip("graph.validate")
    executor_module = pytest.importorskip("graph.executor")
    from graph.events import ListSink

    registry, _ = loaded
    prompt = {
        "1": {"class_type": "ExampleRepeatText", "inputs": {"text": "a b", "times": 2, "separator": " "}},
        "2": {"class_type": "ExampleSplitWords", "inputs": {"text": ["1", 0]}},
        "3": {"class_type": "StringConcatenate", "inputs": {"string_a": ["2", 0], "string_b": "!", "delimiter": ""}},
        "4": {"class_type": "ExampleJoinWords", "inputs": {"words": ["3", 0], "joiner": "comma"}},
        "5": {"class_type": "ExampleShowText", "inputs": {"text": ["4", 0]}},
        "6": {"class_type": "SaveText", "inputs": {"text": ["4", 0], "filename_prefix": "demo"}},
        "7": {"class_type": "CountTo", "inputs": {"steps": 3, "seconds_per_step": 0.0}},
        "8": {"class_type": "PreviewAny", "inputs": {"source": ["7", 0]}},
    }
    checked = validate.validate_prompt(prompt, registry)
    assert checked.ok, checked.to_json()
    sink = ListSink()
    result = executor_module.Executor(registry, runtime=runtime).execute(
        checked.prompt, prompt_id="p", outputs=checked.outputs, sink=sink)
    assert result.status == "success", result.error
    assert result.outputs["5"] == {"text": ["a!, b!, a!, b!"]}
    saved = result.outputs["6"]["files"][0]
    assert (runtime.folders.output_dir / saved["subfolder"] / saved["filename"]).read_text() == "a!, b!, a!, b!"
    assert result.outputs["8"] == {"text": ["3"]}
    assert [(d["value"], d["max"]) for d in sink.of("progress") if d.get("node") == "7"][-1] == (3, 3)


def test_example_validation_error_through_the_graph_engine(loaded):
    validate = pytest.importorskip("graph.validate")
    registry, _ = loaded
    prompt = {
        "1": {"class_type": "ExampleRepeatText", "inputs": {"text": "x" * 1000, "times": 1000}},
        "2": {"class_type": "ExampleShowText", "inputs": {"text": ["1", 0]}},
    }
    checked = validate.validate_prompt(prompt, registry)
    assert not checked.ok
    assert "1" in checked.node_errors
