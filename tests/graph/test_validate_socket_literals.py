"""Values that used to pass validation and fail at run time (issue #20, item 8): literals where
only a link can go, and floats a node cannot compute with."""

import json
import sys

import pytest
from stubs import StubRegistry, inp, make, node, out

from graph.coerce import CoercionError, coerce_literal
from graph.schema import InputSpec
from graph.validate import validate_prompt


@pytest.fixture
def reg():
    return StubRegistry(
        make("Model", [], [out("MODEL"), out("CONDITIONING"), out("LATENT")]),
        make(
            "Sampler",
            [
                inp("model", "MODEL"),
                inp("positive", "CONDITIONING"),
                inp("latent_image", "LATENT"),
                inp("denoise", "FLOAT", min=0.0, max=1.0),
                inp("mask", "MASK", required=False),
            ],
            [out("LATENT")],
        ),
        make("Any", [inp("value", "*"), inp("number", "INT,FLOAT"), inp("either", "STRING,MODEL")], [out("INT")]),
        make("Save", [inp("value", "*")], [], output_node=True),
    )


def sampler(**inputs):
    base = {"model": ["m", 0], "positive": ["m", 1], "latent_image": ["m", 2], "denoise": 1.0}
    return node("Sampler", **{**base, **inputs})


def errors_of(reg, sampler_node):
    prompt = {"m": node("Model"), "1": sampler_node, "2": node("Save", value=["1", 0])}
    result = validate_prompt(prompt, reg)
    json.dumps(result.to_json(), allow_nan=False)
    return result, result.node_errors.get("1", {}).get("errors", [])


@pytest.mark.parametrize("literal", [True, False, "abc", 0, 1.5, {}, {"__value__": ["m", 0]}, {"a": 1}])
@pytest.mark.parametrize("name", ["model", "positive", "latent_image"])
def test_a_literal_for_a_socket_input_names_node_and_input(reg, name, literal):
    result, (err,) = errors_of(reg, sampler(**{name: literal}))
    assert not result.ok and result.error["type"] == "prompt_outputs_failed_validation"
    assert err["type"] == "bad_linked_input"
    assert err["message"] == "Bad linked input, must be a link [node_id, output_index]"
    assert err["details"].startswith(f"{name}: a ")
    assert err["extra_info"]["input_name"] == name
    assert result.prompt["1"]["inputs"][name] == literal  # nothing coerced, nothing runs


@pytest.mark.parametrize("name", ["model", "positive", "latent_image"])
def test_null_for_a_required_socket_is_a_missing_input(reg, name):
    result, (err,) = errors_of(reg, sampler(**{name: None}))
    assert err["type"] == "required_input_missing"
    assert err["message"] == "Required input is missing"
    assert err["details"] == f"{name}: null is not a link"
    assert err["extra_info"] == {"input_name": name}


def test_null_for_an_optional_socket_passes_as_in_comfyui(reg):
    result, errs = errors_of(reg, sampler(mask=None))
    assert result.ok and errs == []
    _, (err,) = errors_of(reg, sampler(mask="abc"))
    assert err["type"] == "bad_linked_input" and err["extra_info"]["input_name"] == "mask"


def test_literals_still_feed_widgets_wildcards_and_unions(reg):
    prompt = {"1": node("Any", value={"x": 1}, number=2.5, either="text"), "2": node("Save", value=["1", 0])}
    assert validate_prompt(prompt, reg).ok


def test_hook_sees_a_refused_literal_as_unlinked():
    seen = []
    reg = StubRegistry(
        make("Check", [inp("model", "MODEL")], [out("INT")], validate=lambda inputs, _: seen.append(inputs) or []),
        make("Save", [inp("value", "*")], [], output_node=True),
    )
    validate_prompt({"1": node("Check", model="abc"), "2": node("Save", value=["1", 0])}, reg)
    assert seen == [{"model": None}]


@pytest.mark.parametrize(
    ("type_", "links_only"),
    [("MODEL", True), ("LATENT", True), ("CONDITIONING", True), ("IMAGE,MASK", True), ("INT", False),
     ("FLOAT", False), ("STRING", False), ("BOOLEAN", False), ("COMBO", False), ("*", False),
     ("INT,FLOAT", False), ("STRING,MODEL", False), ("", False)],
)
def test_links_only_table(type_, links_only):
    assert InputSpec("x", type_).links_only is links_only
    assert InputSpec("x", type_, choices=("a",)).links_only is False


@pytest.mark.parametrize("value", [1e-320, -1e-320, 5e-324, "1e-320", sys.float_info.min / 2])
def test_subnormal_floats_are_refused(value):
    with pytest.raises(CoercionError, match="subnormal"):
        coerce_literal(value, "FLOAT")


@pytest.mark.parametrize("value", [0.0, -0.0, 0, sys.float_info.min, 1e-300, "1e-400", 1e308])
def test_small_normal_floats_and_zero_pass(value):
    assert coerce_literal(value, "FLOAT") == float(value)


def test_denoise_1e_320_is_a_validation_error(reg):
    prompt_text = '{"m": {"class_type": "Model"}, "1": {"class_type": "Sampler", "inputs": {"model": ["m", 0], ' \
                  '"positive": ["m", 1], "latent_image": ["m", 2], "denoise": 1e-320}}, ' \
                  '"2": {"class_type": "Save", "inputs": {"value": ["1", 0]}}}'
    result = validate_prompt(json.loads(prompt_text), reg)
    (err,) = result.node_errors["1"]["errors"]
    assert err["type"] == "invalid_input_type"
    assert err["extra_info"]["input_name"] == "denoise"
    assert "subnormal" in err["details"]
