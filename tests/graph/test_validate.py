"""Whole-prompt validation: structure, links, outputs, cycles, ComfyUI's JSON shape."""

import json

import pytest
from stubs import chain, inp, library, make, node, out

from graph.validate import validate_prompt


@pytest.fixture
def reg():
    return library()


def errors_of(result, node_id):
    return result.node_errors[node_id]["errors"]


def types_of(result, node_id):
    return [e["type"] for e in errors_of(result, node_id)]


def test_valid_prompt(reg):
    result = validate_prompt(chain(5), reg)
    assert result.ok
    assert result.error is None
    assert result.node_errors == {}
    assert result.outputs == ["5"]
    assert result.to_json() == {"error": None, "node_errors": {}}


@pytest.mark.parametrize("prompt", [[], "str", 123, None, [{"class_type": "Int"}]])
def test_prompt_not_an_object(reg, prompt):
    result = validate_prompt(prompt, reg)
    assert not result.ok
    assert result.error["type"] == "invalid_prompt"
    assert "JSON object" in result.error["message"]
    json.dumps(result.to_json())


@pytest.mark.parametrize(
    ("prompt", "words"),
    [
        ({"1": 5}, "must be a JSON object"),
        ({"1": "class_type"}, "must be a JSON object"),
        ({"1": {"inputs": {}}}, "missing the class_type"),
        ({"1": {"class_type": 3, "inputs": {}}}, "must be a string"),
        ({"1": {"class_type": "Nope", "inputs": {}}}, "Cannot execute because node Nope does not exist."),
        ({"1": {"class_type": "Int", "inputs": ["value", 1]}}, "inputs of node '#1'"),
        ({1: {"class_type": "Int", "inputs": {}}}, "must be a string"),
    ],
)
def test_invalid_prompt_names_the_node(reg, prompt, words):
    result = validate_prompt(prompt, reg)
    assert not result.ok
    assert result.error["type"] == "invalid_prompt"
    assert words in result.error["message"]
    assert result.error["details"] == "Node ID '#1'"
    assert result.node_errors["1"]["errors"][0]["type"] == "invalid_prompt"
    json.dumps(result.to_json())


def test_every_invalid_node_is_reported_at_once(reg):
    prompt = {"1": {"class_type": "Nope"}, "2": {"inputs": {}}, "3": node("Save", value=1), "4": {"class_type": "Gone"}}
    result = validate_prompt(prompt, reg)
    assert result.error["type"] == "invalid_prompt"
    assert set(result.node_errors) == {"1", "2", "4"}
    assert "Nope" in result.error["details"] and "Gone" in result.error["details"] and "#2" in result.error["details"]
    assert result.node_errors["1"]["class_type"] == "Nope"


def test_schema_that_raises_is_reported(reg):
    class Broken:
        def schema(self):
            raise RuntimeError("disk gone")

    reg.types["Broken"] = Broken()
    result = validate_prompt({"1": node("Broken"), "2": node("Save", value=1)}, reg)
    assert result.error["type"] == "invalid_prompt"
    assert "disk gone" in result.error["message"]


def test_registry_that_raises_never_escapes(reg):
    class Exploding:
        def get(self, class_type):
            raise ValueError("boom")

        def class_types(self):
            return []

    result = validate_prompt({"1": node("Save", value=1)}, Exploding())
    assert not result.ok and "boom" in result.error["message"]


def test_no_outputs(reg):
    result = validate_prompt({"1": node("Int", value=1)}, reg)
    assert result.error["type"] == "prompt_no_outputs"
    assert result.error["message"] == "Prompt has no outputs"
    assert validate_prompt({}, reg).error["type"] == "prompt_no_outputs"


def test_partial_targets_restrict_outputs(reg):
    prompt = {"1": node("Save", value=1), "2": node("Save", value=2)}
    assert validate_prompt(prompt, reg, partial_targets=["2"]).outputs == ["2"]
    assert validate_prompt(prompt, reg, partial_targets=["9"]).error["type"] == "prompt_no_outputs"


def test_required_input_missing(reg):
    result = validate_prompt({"1": node("Add", a=1), "2": node("Save", value=["1", 0])}, reg)
    assert result.error["type"] == "prompt_outputs_failed_validation"
    (err,) = errors_of(result, "1")
    assert err == {
        "type": "required_input_missing",
        "message": "Required input is missing",
        "details": "b",
        "extra_info": {"input_name": "b"},
    }
    assert result.node_errors["1"]["class_type"] == "Add"
    assert result.node_errors["1"]["dependent_outputs"] == ["2"]
    # the downstream node, invalid only because of its input, is not listed (ComfyUI parity)
    assert "2" not in result.node_errors
    assert "Required input is missing: b" in result.error["details"]


def test_optional_input_may_be_absent(reg):
    reg.add(make("Opt", [inp("x", required=False)], [out("INT")]))
    assert validate_prompt({"1": node("Opt"), "2": node("Save", value=["1", 0])}, reg).ok


def test_unknown_extra_inputs_are_ignored(reg):
    result = validate_prompt({"1": node("Int", value=1, bogus=["99", 0], junk="x"), "2": node("Save", value=["1", 0])}, reg)
    assert result.ok


@pytest.mark.parametrize(
    ("link", "message"),
    [
        (["9", 0], "the linked node does not exist"),
        (["1"], "must be a length-2 list"),
        (["1", 0, 0], "must be a length-2 list"),
        ([], "must be a length-2 list"),
        (["1", 99], "output index out of range"),
        (["1", -1], "output index out of range"),
        (["1", "0"], "whole number"),
        (["1", 0.5], "whole number"),
        (["1", True], "whole number"),
        (["1", None], "whole number"),
        ([1, 0], "node id must be a string"),
        ([None, 0], "node id must be a string"),
    ],
)
def test_bad_linked_input(reg, link, message):
    result = validate_prompt({"1": node("Int", value=1), "2": node("Save", value=link)}, reg)
    assert result.error["type"] == "prompt_outputs_failed_validation"
    (err,) = errors_of(result, "2")
    assert err["type"] == "bad_linked_input"
    assert message in err["message"]
    assert err["extra_info"]["input_name"] == "value"
    assert err["extra_info"]["received_value"] == link
    json.dumps(result.to_json())


def test_float_link_index_is_accepted(reg):
    assert validate_prompt({"1": node("Int", value=1), "2": node("Save", value=["1", 0.0])}, reg).ok


def test_return_type_mismatch(reg):
    result = validate_prompt({"1": node("Latent"), "2": node("SaveImage", images=["1", 0])}, reg)
    (err,) = errors_of(result, "2")
    assert err["type"] == "return_type_mismatch"
    assert err["message"] == "Return type mismatch between linked nodes"
    assert err["details"] == "images, received_type(LATENT) mismatch input_type(IMAGE)"
    assert err["extra_info"]["received_type"] == "LATENT"
    assert err["extra_info"]["linked_node"] == ["1", 0]


def test_type_check_skipped_when_node_validates_input_types(reg):
    seen = []

    def check(inputs, input_types):
        seen.append(input_types)
        return []

    reg.add(make("Loose", [inp("images", "IMAGE")], [], validates_input_types=True, output_node=True, validate=check))
    assert validate_prompt({"1": node("Latent"), "2": node("Loose", images=["1", 0])}, reg).ok
    assert seen == [{"images": "LATENT"}]


def test_one_valid_and_one_invalid_output(reg):
    prompt = {
        "1": node("Int", value=5),
        "2": node("Save", value=["1", 0]),
        "3": node("Int", value=500),
        "4": node("Save", value=["3", 0]),
    }
    result = validate_prompt(prompt, reg)
    assert result.ok
    assert result.error is None
    assert result.outputs == ["2"]
    assert set(result.node_errors) == {"3"}
    assert result.node_errors["3"]["dependent_outputs"] == ["4"]


def test_shared_upstream_error_lists_every_dependent_output(reg):
    prompt = {"1": node("Int", value=-1), "2": node("Save", value=["1", 0]), "3": node("Save", value=["1", 0])}
    result = validate_prompt(prompt, reg)
    assert result.node_errors["1"]["dependent_outputs"] == ["2", "3"]


def test_all_errors_at_once(reg):
    prompt = {
        "1": node("Int", value="abc"),
        "2": node("Add", a=["1", 0]),
        "3": node("Float", x=float("nan")),
        "4": node("Choice", mode="medium"),
        "5": node("Save", value=["2", 0]),
        "6": node("Save", value=["3", 0]),
        "7": node("Save", value=["4", 0]),
        "8": node("SaveImage", images=["9", 0]),
    }
    result = validate_prompt(prompt, reg)
    assert result.error["type"] == "prompt_outputs_failed_validation"
    assert types_of(result, "1") == ["invalid_input_type"]
    assert types_of(result, "2") == ["required_input_missing"]
    assert types_of(result, "3") == ["invalid_input_type"]
    assert types_of(result, "4") == ["value_not_in_list"]
    assert types_of(result, "8") == ["bad_linked_input"]
    assert result.error["details"].count("\n") == 4
    json.dumps(result.to_json(), allow_nan=False)


def test_unconnected_nodes_are_not_validated(reg):
    prompt = {"1": node("Int", value=999), "2": node("Save", value=1)}
    result = validate_prompt(prompt, reg)
    assert result.ok and result.node_errors == {}


def test_cycle_is_reported(reg):
    prompt = {
        "1": node("Add", a=["2", 0], b=1),
        "2": node("Add", a=["1", 0], b=1),
        "3": node("Save", value=["2", 0]),
    }
    result = validate_prompt(prompt, reg)
    assert result.error["type"] == "prompt_outputs_failed_validation"
    (err,) = errors_of(result, "1")  # reported once, on the cycle's first node
    assert err["type"] == "dependency_cycle"
    assert "'#1', '#2'" in err["details"]
    assert err["extra_info"] == {"cycle": ["1", "2"], "cycle_length": 2}
    assert result.node_errors["1"]["dependent_outputs"] == ["3"]
    assert list(result.node_errors) == ["1"]


def test_self_loop_is_reported(reg):
    result = validate_prompt({"1": node("Add", a=["1", 0], b=1), "2": node("Save", value=["1", 0])}, reg)
    (err,) = errors_of(result, "1")
    assert err["type"] == "dependency_cycle"
    assert "links to itself" in err["details"]


def test_cycle_beside_a_valid_output(reg):
    prompt = {
        "1": node("Add", a=["1", 0], b=1),
        "2": node("Save", value=["1", 0]),
        "3": node("Save", value=3),
    }
    result = validate_prompt(prompt, reg)
    assert result.ok and result.outputs == ["3"]


def test_long_chain_validates_without_recursion(reg):
    result = validate_prompt(chain(100_000), reg)
    assert result.ok
    assert result.outputs == ["100000"]


def test_long_cycle_is_found(reg):
    prompt = chain(5000)
    prompt["1"] = node("Add", a=["4999", 0], b=1)
    result = validate_prompt(prompt, reg)
    assert not result.ok
    (err,) = errors_of(result, "1")
    assert list(result.node_errors) == ["1"]
    assert err["extra_info"]["cycle_length"] == 4999
    assert err["extra_info"]["cycle"] == [str(i) for i in range(1, 21)]  # natural order, capped
    assert err["details"].endswith("'#19', '#20' and 4979 more depend on each other")


def test_coerced_prompt_is_a_copy(reg):
    prompt = {"1": node("Int", value="7"), "2": node("Save", value=["1", 0]), "3": node("Text", text=5)}
    result = validate_prompt(prompt, reg)
    assert result.prompt["1"]["inputs"]["value"] == 7
    assert prompt["1"]["inputs"]["value"] == "7"
    assert result.prompt["3"] == prompt["3"]  # not needed by any output: untouched


def test_list_literals_stay_wrapped(reg):
    reg.add(make("Anything", [inp("data", "*")], [], output_node=True))
    result = validate_prompt({"1": node("Anything", data={"__value__": ["1", 0]})}, reg)
    assert result.ok
    assert result.prompt["1"]["inputs"]["data"] == {"__value__": ["1", 0]}
