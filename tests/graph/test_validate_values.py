"""Literal values: coercion, min/max, combos and custom validation."""

import json

import pytest
from stubs import inp, library, make, node, out

from graph.coerce import CoercionError, coerce_literal
from graph.validate import validate_prompt


@pytest.fixture
def reg():
    return library()


def check(reg, class_type, **inputs):
    """Validate one node feeding a Save; returns (result, errors of the node)."""
    result = validate_prompt({"1": node(class_type, **inputs), "2": node("Save", value=["1", 0])}, reg)
    errs = result.node_errors.get("1", {}).get("errors", [])
    json.dumps(result.to_json(), allow_nan=False)
    return result, errs


@pytest.mark.parametrize(
    ("type_", "value", "expected"),
    [
        ("INT", 5, 5),
        ("INT", 5.0, 5),
        ("INT", " 12 ", 12),
        ("INT", "-3", -3),
        ("INT", -0, 0),
        ("INT", 2**64, 2**64),
        ("FLOAT", 1, 1.0),
        ("FLOAT", "1.5", 1.5),
        ("FLOAT", 2.5, 2.5),
        ("STRING", "x", "x"),
        ("STRING", 5, "5"),
        ("STRING", 1.5, "1.5"),
        ("BOOLEAN", True, True),
        ("BOOLEAN", "true", True),
        ("BOOLEAN", " False ", False),
        ("BOOLEAN", 0, False),
        ("BOOLEAN", 1, True),
        ("IMAGE", ["anything"], ["anything"]),
        ("COMBO", "a", "a"),
    ],
)
def test_coercion_accepts(type_, value, expected):
    result = coerce_literal(value, type_)
    assert result == expected and type(result) is type(expected)


@pytest.mark.parametrize(
    ("type_", "value"),
    [
        ("INT", "abc"),
        ("INT", "1.0"),
        ("INT", ""),
        ("INT", True),
        ("INT", 7.5),
        ("INT", float("nan")),
        ("INT", float("inf")),
        ("INT", None),
        ("INT", [1]),
        ("INT", {"a": 1}),
        ("INT", "9" * 5000),
        ("FLOAT", "abc"),
        ("FLOAT", "inf"),
        ("FLOAT", "nan"),
        ("FLOAT", float("-inf")),
        ("FLOAT", False),
        ("FLOAT", 10**400),
        ("FLOAT", None),
        ("STRING", None),
        ("STRING", True),
        ("STRING", ["a"]),
        ("BOOLEAN", "yes"),
        ("BOOLEAN", "0"),
        ("BOOLEAN", 2),
        ("BOOLEAN", None),
        ("BOOLEAN", 1.0),
    ],
)
def test_coercion_refuses(type_, value):
    with pytest.raises(CoercionError):
        coerce_literal(value, type_)


@pytest.mark.parametrize("value", ["abc", float("nan"), float("inf"), True, 7.5, None])
def test_invalid_int_names_node_and_input(reg, value):
    result, (err,) = check(reg, "Int", value=value)
    assert err["type"] == "invalid_input_type"
    assert err["message"] == "Failed to convert an input value to a INT value"
    assert err["extra_info"]["input_name"] == "value"
    assert err["details"].startswith("value, ")
    assert err["extra_info"]["input_config"][0] == "INT"
    assert result.error["type"] == "prompt_outputs_failed_validation"


def test_json_1e309_is_refused(reg):
    prompt = json.loads('{"1": {"class_type": "Int", "inputs": {"value": 1e309}}, "2": {"class_type": "Save", "inputs": {"value": ["1", 0]}}}')
    result = validate_prompt(prompt, reg)
    (err,) = result.node_errors["1"]["errors"]
    assert err["type"] == "invalid_input_type"
    assert err["extra_info"]["received_value"] == "inf"


def test_float_inf_string_is_refused(reg):
    _, (err,) = check(reg, "Float", x="inf")
    assert err["type"] == "invalid_input_type"


def test_two_to_the_64_is_a_max_error(reg):
    _, (err,) = check(reg, "Seed", seed=2**64)
    assert err["type"] == "value_bigger_than_max"
    assert err["message"] == f"Value {2**64} bigger than max of {2**64 - 1}"
    result, errs = check(reg, "Seed", seed=2**64 - 1)
    assert result.ok and errs == []


def test_min_and_max(reg):
    _, (err,) = check(reg, "Int", value=-1)
    assert err == {
        "type": "value_smaller_than_min",
        "message": "Value -1 smaller than min of 0",
        "details": "value",
        "extra_info": {"input_name": "value", "input_config": ["INT", {"min": 0, "max": 100}], "received_value": -1},
    }
    _, (err,) = check(reg, "Float", x=10.5)
    assert err["type"] == "value_bigger_than_max"
    assert check(reg, "Int", value=100)[0].ok
    assert check(reg, "Int", value=0)[0].ok


def test_string_int_is_coerced_then_range_checked(reg):
    _, (err,) = check(reg, "Int", value="101")
    assert err["type"] == "value_bigger_than_max"


@pytest.mark.parametrize("value", ["true", "false", "TRUE", True, False])
def test_boolean_strings_accepted(reg, value):
    result, errs = check(reg, "Flag", on=value)
    assert result.ok and errs == []
    assert result.prompt["1"]["inputs"]["on"] is (str(value).lower() == "true")


@pytest.mark.parametrize("value", ["yes", "no", "0", "1", "", 2])
def test_other_boolean_strings_refused(reg, value):
    _, (err,) = check(reg, "Flag", on=value)
    assert err["type"] == "invalid_input_type"


def test_value_not_in_list(reg):
    _, (err,) = check(reg, "Choice", mode="medium")
    assert err["type"] == "value_not_in_list"
    assert err["message"] == "Value not in list"
    assert err["details"] == "mode: 'medium' not in ['fast', 'slow']"
    assert err["extra_info"]["input_config"] == [["fast", "slow"], {}]


def test_long_combo_list_is_summarized(reg):
    reg.add(make("Big", [inp("name", "COMBO", choices=[f"f{i}" for i in range(50)])], [out("STRING")]))
    _, (err,) = check(reg, "Big", name="nope")
    assert err["details"] == "name: 'nope' not in (list of length 50)"
    assert err["extra_info"]["input_config"] is None


def test_combo_bool_does_not_match_int_choice(reg):
    reg.add(make("Nums", [inp("n", "COMBO", choices=[1, 2])], [out("INT")]))
    assert check(reg, "Nums", n=1)[0].ok
    _, (err,) = check(reg, "Nums", n=True)
    assert err["type"] == "value_not_in_list"


def test_combo_with_unhashable_value(reg):
    _, (err,) = check(reg, "Choice", mode={"a": 1})
    assert err["type"] == "value_not_in_list"


def test_custom_validated_input_skips_generic_checks(reg):
    reg.add(make("Own", [inp("n", min=0, max=10), inp("name", "COMBO", choices=["a"])], [out("INT")], custom_validated=frozenset({"n", "name"})))
    assert check(reg, "Own", n=50, name="uploaded.png")[0].ok
    reg.add(make("OwnAll", [inp("n", min=0, max=10)], [out("INT")], custom_validated=frozenset({"*"})))
    assert check(reg, "OwnAll", n=50)[0].ok


@pytest.mark.parametrize("value", ["../../etc/passwd", "/etc/passwd", "..\\..\\x", "C:\\x", "a/../../b", "x\x00y"])
def test_path_escapes_refused_even_when_custom_validated(reg, value):
    reg.add(make("Own", [inp("name", "COMBO", choices=["a.png"])], [out("STRING")], custom_validated=frozenset({"name"})))
    _, (err,) = check(reg, "Own", name=value)
    assert err["type"] == "value_not_in_list"


def test_custom_validation_failed(reg):
    def refuse(inputs, input_types):
        return [("value", "must be even"), (None, "whole node is wrong")] if inputs["value"] % 2 else []

    reg.add(make("Even", [inp("value"), inp("other", "IMAGE", required=False)], [out("INT")], validate=refuse))
    result, errs = check(reg, "Even", value=3)
    assert [e["type"] for e in errs] == ["custom_validation_failed", "custom_validation_failed"]
    assert errs[0]["message"] == "Custom validation failed for node"
    assert errs[0]["details"] == "value - must be even"
    assert errs[0]["extra_info"] == {"input_name": "value"}
    assert errs[1]["details"] == "whole node is wrong"
    assert check(reg, "Even", value=4)[0].ok


def test_custom_validation_gets_coerced_literals_and_none_for_links(reg):
    pair = reg.add(make("Pair", [inp("a"), inp("b")], [out("INT")]))
    prompt = {"1": node("Int", value=1), "2": node("Pair", a=["1", 0], b="4"), "3": node("Save", value=["2", 0])}
    assert validate_prompt(prompt, reg).ok
    assert pair.validate_calls == [({"a": None, "b": 4}, None)]


def test_exception_during_validation(reg):
    def explode(inputs, input_types):
        raise KeyError("kaput")

    reg.add(make("Bad", [inp("value")], [out("INT")], validate=explode))
    result, (err,) = check(reg, "Bad", value=1)
    assert err["type"] == "exception_during_validation"
    assert err["message"] == "Exception when validating node"
    assert err["extra_info"]["exception_type"] == "KeyError"
    assert isinstance(err["extra_info"]["traceback"], list)
    assert not result.ok


def test_broken_declaration_is_exception_during_inner_validation(reg):
    reg.add(make("Odd", [inp("value", min="zero")], [out("INT")]))
    _, (err,) = check(reg, "Odd", value=1)
    assert err["type"] == "exception_during_inner_validation"
    assert err["extra_info"]["input_name"] == "value"


def test_custom_hook_not_called_after_type_errors(reg):
    typed = reg.add(make("Typed", [inp("value")], [out("INT")]))
    check(reg, "Typed", value="abc")
    assert typed.validate_calls == []


def test_nan_received_value_is_json_safe(reg):
    _, (err,) = check(reg, "Float", x=float("nan"))
    assert err["extra_info"]["received_value"] == "nan"


def test_deeply_nested_values_are_reported_not_crashed(reg):
    deep = 1
    for _ in range(50_000):
        deep = [deep]
    _, (err,) = check(reg, "Int", value={"__value__": deep})
    assert err["type"] == "invalid_input_type"
    result, (err,) = check(reg, "Text", text=["x", deep])
    assert err["type"] == "bad_linked_input"
