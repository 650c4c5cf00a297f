"""The classic adapter: ComfyUI V1 node classes loaded unchanged."""

from __future__ import annotations

import math

import pytest

from graph.context import NodeContext
from graph.schema import NodeOutput, NodeType
from nodes.api.classic import ClassicNodeType, is_classic_node_class, parse_input_types
from nodes.api.results import NodeDefinitionError, NodeResultError
from tests.nodes.classic_samples import (
    AsyncDouble,
    BatchToList,
    ComboStyle,
    CountingCalls,
    HiddenAware,
    KSampler,
    KwargsValidated,
    LazySwitch,
    LoadTextFile,
    TypeSensitive,
)


def ctx(node_id="1"):
    return NodeContext(node_id=node_id, prompt_id="p")


def test_adapter_is_a_node_type():
    assert isinstance(ClassicNodeType(KSampler), NodeType)
    assert is_classic_node_class(KSampler)
    assert not is_classic_node_class(KSampler())
    assert not is_classic_node_class(dict)


def test_ksampler_schema():
    schema = ClassicNodeType(KSampler, python_module="nodes").schema()
    assert schema.class_type == "KSampler"
    assert [i.name for i in schema.inputs] == ["model", "seed", "steps", "cfg", "sampler_name", "scheduler",
                                               "positive", "negative", "latent_image", "denoise"]
    assert all(i.required for i in schema.inputs)
    seed = schema.input("seed")
    assert seed.type == "INT" and seed.options["max"] == 18446744073709551615
    assert seed.options["control_after_generate"] is True
    sampler = schema.input("sampler_name")
    assert sampler.type == "COMBO" and sampler.choices == tuple(["euler", "euler_ancestral", "heun", "dpmpp_2m"])
    assert schema.input("scheduler").options == {}
    assert schema.outputs[0].type == "LATENT" and schema.outputs[0].name == "LATENT"
    assert schema.outputs[0].tooltip == "The denoised latent."
    assert schema.extra["output_tooltips"] == ["The denoised latent."]
    assert schema.category == "sampling"
    assert schema.description.startswith("Uses the provided model")
    assert not schema.output_node and not schema.not_idempotent and schema.custom_validated == frozenset()


def test_ksampler_executes_with_keywords():
    out = ClassicNodeType(KSampler).execute(ctx(), {
        "model": "M", "seed": 5, "steps": 2, "cfg": 1.0, "sampler_name": "euler", "scheduler": "normal",
        "positive": [], "negative": [], "latent_image": {}, "denoise": 1.0})
    assert out == NodeOutput(({"samples": ("M", 5, 2)},), None)


def test_combo_declared_with_options_and_flags():
    schema = ClassicNodeType(ComboStyle).schema()
    mode = schema.input("mode")
    assert mode.choices == ("fast", "slow") and mode.options["options"] == ["fast", "slow"]
    assert schema.input("strength").required is False
    assert schema.output_node and schema.deprecated and schema.experimental
    assert schema.extra["api_node"] is False
    assert schema.category == "sd"  # CATEGORY missing -> ComfyUI's default


def test_ui_only_result_with_no_outputs():
    out = ClassicNodeType(ComboStyle).execute(ctx(), {"mode": "fast"})
    assert out == NodeOutput((), {"text": ["fast:0.5"]})


def test_file_combo_is_reread_and_is_changed_hashes_the_file(tmp_path):
    LoadTextFile.folder = tmp_path
    node = ClassicNodeType(LoadTextFile)
    assert node.schema().input("name").choices == ()
    (tmp_path / "a.txt").write_text("hello")
    assert node.schema().input("name").choices == ("a.txt",)
    assert node.schema().input("name").options == {"image_upload": True}
    before = node.fingerprint({"name": "a.txt"})
    (tmp_path / "a.txt").write_text("changed")
    assert node.fingerprint({"name": "a.txt"}) != before
    assert node.execute(ctx(), {"name": "a.txt"}).values == ("changed", 7)
    assert node.schema().outputs[0].name == "text" and node.schema().outputs[1].name == "length"


def test_validate_inputs_is_called_with_the_inputs_it_names(tmp_path):
    LoadTextFile.folder = tmp_path
    (tmp_path / "a.txt").write_text("x")
    node = ClassicNodeType(LoadTextFile)
    assert node.schema().custom_validated == frozenset({"name"})
    assert node.validate({"name": "a.txt", "unrelated": 1}, None) == []
    assert node.validate({"name": "missing.txt"}, None) == [(None, "Invalid text file: missing.txt")]


def test_validate_inputs_with_input_types():
    node = ClassicNodeType(TypeSensitive)
    schema = node.schema()
    assert schema.validates_input_types is True
    assert schema.custom_validated == frozenset({"count"})
    assert schema.not_idempotent is True
    assert node.validate({"value": None, "count": 1}, {"value": "INT"}) == []
    assert node.validate({"value": None, "count": 1}, {"value": "IMAGE"}) == [(None, "value must be a number")]


def test_validate_inputs_with_kwargs_covers_everything():
    node = ClassicNodeType(KwargsValidated)
    assert node.schema().custom_validated == frozenset({"*"})
    assert node.validate({"a": 5}, None) == []
    assert node.validate({"a": 500}, None) == [(None, "Custom validation failed")]


def test_list_returns_are_accepted_like_tuples():
    assert ClassicNodeType(KwargsValidated).execute(ctx(), {"a": 1}).values == (1,)


def test_input_and_output_lists():
    node = ClassicNodeType(BatchToList)
    schema = node.schema()
    assert schema.input_is_list is True
    assert [o.is_list for o in schema.outputs] == [True, False]
    assert [o.name for o in schema.outputs] == ["items", "count"]
    assert node.execute(ctx(), {"values": [1, 2, 3]}).values == ([1, 2, 3], 3)


def test_hidden_inputs_are_declared_and_passed_through():
    node = ClassicNodeType(HiddenAware)
    schema = node.schema()
    assert schema.hidden == (("prompt", "PROMPT"), ("extra_pnginfo", "EXTRA_PNGINFO"), ("unique_id", "UNIQUE_ID"),
                             ("dynprompt", "DYNPROMPT"))
    assert schema.not_idempotent is True  # UNIQUE_ID puts the node id in the cache key
    out = node.execute(ctx("7"), {"images": [], "filename_prefix": "x", "prompt": {"7": {}},
                                  "extra_pnginfo": {"workflow": {}}, "unique_id": "7"})
    assert out.values == ()
    assert out.ui["images"] == [{"filename": "x_7.png", "subfolder": "", "type": "output"}]
    assert out.ui["meta"] == [{"7": {}}, {"workflow": {}}]


def test_one_instance_per_node_id_is_kept():
    node = ClassicNodeType(CountingCalls)
    assert node.execute(ctx("1"), {}).values == (1,)
    assert node.execute(ctx("1"), {}).values == (2,)
    assert node.execute(ctx("2"), {}).values == (1,)
    node.release_instances(keep={"2"})
    assert node.execute(ctx("1"), {}).values == (1,)
    assert node.execute(ctx("2"), {}).values == (2,)
    node.release_instances()
    assert node.execute(ctx("2"), {}).values == (1,)


def test_is_changed_with_kwargs_gets_every_literal():
    value = ClassicNodeType(CountingCalls).fingerprint({"x": 1})
    assert math.isnan(value)


def test_no_is_changed_means_none():
    assert ClassicNodeType(KSampler).fingerprint({"seed": 1}) is None


def test_is_changed_errors_propagate_to_the_caller(tmp_path):
    LoadTextFile.folder = tmp_path
    with pytest.raises(FileNotFoundError):
        ClassicNodeType(LoadTextFile).fingerprint({"name": "gone.txt"})


def test_check_lazy_status_uses_the_node_instance():
    node = ClassicNodeType(LazySwitch)
    assert node.schema().input("on_true").lazy
    assert node.check_lazy_status(ctx(), {"switch": True, "on_true": None, "on_false": None}) == ["on_true"]
    assert node.check_lazy_status(ctx(), {"switch": False, "on_true": 1, "on_false": 2}) == []
    assert ClassicNodeType(KSampler).check_lazy_status(ctx(), {}) == []


def test_async_function_runs_to_completion():
    assert ClassicNodeType(AsyncDouble).execute(ctx(), {"x": 4}).values == (8,)


def test_wrong_result_count_names_the_node():
    class Short(KSampler):
        RETURN_TYPES = ("LATENT", "INT")

    with pytest.raises(NodeResultError, match="node Short: returned 1 value"):
        ClassicNodeType(Short).execute(ctx(), {"model": 1, "seed": 1, "steps": 1, "cfg": 1.0, "sampler_name": "e",
                                               "scheduler": "n", "positive": 1, "negative": 1, "latent_image": 1})


def test_registered_name_differs_from_class_name():
    assert ClassicNodeType(KSampler, "KSampler (Mine)").schema().class_type == "KSampler (Mine)"


@pytest.mark.parametrize(
    "input_types, message",
    [
        ([], "INPUT_TYPES() must return a dict"),
        ({"required": {}, "hidden": ["PROMPT"]}, "INPUT_TYPES()['hidden'] must be a dict"),
        ({"required": []}, "INPUT_TYPES()['required'] must be a dict"),
        ({"required": {"a": ("INT", {}, "x")}}, "input 'a': expected (TYPE,) or (TYPE, {options})"),
        ({"required": {"a": ("INT", "notadict")}}, "input 'a': options must be a dict"),
        ({"required": {"a": (5,)}}, "input 'a': type must be a string or a list of choices"),
        ({"required": {"a": ("COMBO", {"options": "abc"})}}, "COMBO 'options' must be a list"),
        ({"required": {}, "hidden": {"p": 5}}, "hidden input 'p' must name a kind"),
    ],
)
def test_bad_input_types_are_refused_with_node_and_input_named(input_types, message):
    with pytest.raises(NodeDefinitionError) as err:
        parse_input_types("Broken", input_types)
    assert "node Broken" in str(err.value) and message in str(err.value)


def test_tolerated_input_shapes():
    specs, hidden = parse_input_types("Lenient", {"required": {"a": "INT", "b": ["x", "y"], "c": ("FLOAT", None)},
                                                  "optional": None, "hidden": {"p": ("PROMPT",)},
                                                  "ui_only_section": {"ignored": True}})
    assert [(s.name, s.type, s.choices) for s in specs] == [("a", "INT", None), ("b", "COMBO", ("x", "y")),
                                                            ("c", "FLOAT", None)]
    assert hidden == (("p", "PROMPT"),)


def test_unknown_hidden_kind_fails_the_schema():
    class OddHidden(KSampler):
        @classmethod
        def INPUT_TYPES(cls):
            return {"required": {}, "hidden": {"x": "SECRET"}}

    with pytest.raises(NodeDefinitionError, match="unknown hidden input kind"):
        ClassicNodeType(OddHidden).schema()


def test_bad_class_attributes_are_refused():
    class NoMethod(KSampler):
        FUNCTION = "missing"

    class StringReturn(KSampler):
        RETURN_TYPES = ("LATENT")

    class WrongNames(KSampler):
        RETURN_NAMES = ("a", "b")

    with pytest.raises(NodeDefinitionError, match="FUNCTION 'missing' is not a method"):
        ClassicNodeType(NoMethod)
    with pytest.raises(NodeDefinitionError, match="missing comma"):
        ClassicNodeType(StringReturn)
    with pytest.raises(NodeDefinitionError, match="RETURN_NAMES has 2 entries but RETURN_TYPES has 1"):
        ClassicNodeType(WrongNames)
    with pytest.raises(NodeDefinitionError, match="not a classic node class"):
        ClassicNodeType(object)


def test_combo_list_output_type():
    class ListsChoices(KSampler):
        RETURN_TYPES = (["a", "b"], "INT")

    schema = ClassicNodeType(ListsChoices).schema()
    assert schema.output_types == ("COMBO", "INT")
    assert schema.extra["output_raw"] == [["a", "b"], "INT"]
