"""ComfySwitchNode and CustomCombo, alone and in real graphs (only the chosen branch runs), plus regex validation."""

import pytest

from graph.executor import Executor
from graph.validate import validate_prompt
from nodes.build import build_registry
from nodes.library.utility.logic import ComfySwitchNode, CustomCombo
from tests.nodes.sd_fakes import schema, values


@pytest.fixture
def ctx(make_ctx):
    return make_ctx()


def switch_prompt(switch: bool) -> dict:
    return {
        "1": {"class_type": "PrimitiveBoolean", "inputs": {"value": switch}},
        "2": {"class_type": "PrimitiveString", "inputs": {"value": "yes"}},
        "3": {"class_type": "CaseConverter", "inputs": {"string": ["2", 0], "mode": "UPPERCASE"}},
        "4": {"class_type": "PrimitiveString", "inputs": {"value": "No"}},
        "5": {"class_type": "CaseConverter", "inputs": {"string": ["4", 0], "mode": "lowercase"}},
        "6": {"class_type": "ComfySwitchNode", "inputs": {"switch": ["1", 0], "on_false": ["5", 0],
                                                          "on_true": ["3", 0]}},
        "7": {"class_type": "PreviewAny", "inputs": {"source": ["6", 0]}},
    }


@pytest.mark.parametrize(("switch", "text", "ran", "skipped"), [(True, "YES", {"2", "3"}, {"4", "5"}),
                                                                 (False, "no", {"4", "5"}, {"2", "3"})])
def test_switch_runs_only_the_chosen_branch(runtime, switch, text, ran, skipped):
    registry, _ = build_registry(runtime)
    checked = validate_prompt(switch_prompt(switch), registry)
    assert checked.ok, checked.to_json()
    result = Executor(registry, runtime=runtime).execute(checked.prompt, prompt_id="p1", outputs=checked.outputs)
    assert result.status == "success", result.error
    assert result.outputs["7"]["text"] == [text]
    assert ran <= set(result.executed) and not skipped & set(result.executed)


def test_switch_asks_for_the_chosen_input_only(ctx):
    assert ComfySwitchNode.check_lazy_status(ctx, switch=True, on_false=None, on_true=None) == ["on_true"]
    assert ComfySwitchNode.check_lazy_status(ctx, switch=False, on_false=None, on_true=None) == ["on_false"]
    assert ComfySwitchNode.check_lazy_status(ctx, switch=True, on_false=None, on_true=3) == []
    assert values(ComfySwitchNode, ctx, switch=False, on_false=1, on_true=2) == (1,)
    assert [spec.lazy for spec in schema(ComfySwitchNode).inputs] == [False, True, True]
    with pytest.raises(TypeError, match="ComfySwitchNode: input 'switch' must be a BOOLEAN"):
        values(ComfySwitchNode, ctx, switch="yes", on_false=1, on_true=2)


def test_custom_combo_accepts_any_string_the_editor_wrote(runtime, ctx):
    registry, _ = build_registry(runtime)
    prompt = {"1": {"class_type": "CustomCombo", "inputs": {"choice": "my own option"}},
              "2": {"class_type": "PreviewAny", "inputs": {"source": ["1", 0]}}}
    checked = validate_prompt(prompt, registry)
    assert checked.ok, checked.to_json()
    assert values(CustomCombo, ctx, choice="b") == ("b",)
    bad = validate_prompt({**prompt, "1": {"class_type": "CustomCombo", "inputs": {"choice": 3}}}, registry)
    assert not bad.ok
    with pytest.raises(TypeError, match="CustomCombo: input 'choice' must be a string"):
        values(CustomCombo, ctx, choice=None)


def test_a_bad_regex_is_refused_before_anything_runs(runtime):
    registry, _ = build_registry(runtime)
    prompt = {"1": {"class_type": "RegexMatch", "inputs": {"string": "abc", "regex_pattern": "a(b",
                                                           "case_insensitive": True, "multiline": False,
                                                           "dotall": False}},
              "2": {"class_type": "PreviewAny", "inputs": {"source": ["1", 0]}}}
    checked = validate_prompt(prompt, registry)
    assert not checked.ok
    errors = checked.to_json()["node_errors"]["1"]["errors"]
    assert errors[0]["extra_info"]["input_name"] == "regex_pattern"
    assert "not a valid regular expression" in errors[0]["details"]
