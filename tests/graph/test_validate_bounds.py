"""Error reports stay small whatever the prompt: a cycle is reported once, every list is capped
and says how many it left out, and nothing built grows faster than the prompt (issue #20, item 1)."""

import json

import pytest
from stubs import StubRegistry, inp, library, make, node, out

from graph import error_bounds
from graph.error_bounds import (
    MAX_DEPENDENT_OUTPUTS,
    MAX_ERRORS_PER_NODE,
    MAX_REPORTED_NODES,
    capped_traceback,
    json_safe,
)
from graph.plan import DependencyCycleError
from graph.validate import _dependent_outputs, validate_prompt
from graph.validate_node import exception_info

ONE_MB = 1024 * 1024


def body_size(result) -> int:
    return len(json.dumps(result.to_json(), allow_nan=False).encode())


def ring_registry() -> StubRegistry:
    """LatentUpscaleBy, VAEDecode and PreviewImage in miniature."""
    return StubRegistry(
        make("Upscale", [inp("samples", "LATENT"), inp("scale_by", "FLOAT", min=0.01, max=8.0)], [out("LATENT")]),
        make("Decode", [inp("samples", "LATENT")], [out("IMAGE")]),
        make("Preview", [inp("images", "IMAGE")], [], output_node=True),
    )


def ring(length: int) -> dict:
    """`length` Upscale nodes in a ring ("1" <- "2" <- ... <- "length" <- "1"), feeding Decode -> Preview."""
    prompt = {str(i): node("Upscale", samples=[str(i - 1 if i > 1 else length), 0], scale_by=1.5)
              for i in range(1, length + 1)}
    prompt["decode"] = node("Decode", samples=["1", 0])
    prompt["preview"] = node("Preview", images=["decode", 0])
    return prompt


def test_a_ring_of_20000_nodes_is_reported_once_in_a_small_body():
    result = validate_prompt(ring(20_000), ring_registry())
    assert not result.ok
    assert result.error["type"] == "prompt_outputs_failed_validation"
    assert list(result.node_errors) == ["1"]
    (err,) = result.node_errors["1"]["errors"]
    assert err["type"] == "dependency_cycle"
    assert err["extra_info"] == {"cycle": [str(i) for i in range(1, 21)], "cycle_length": 20_000}
    shown = ", ".join(f"'#{i}'" for i in range(1, 21))
    assert err["details"] == f"nodes {shown} and 19980 more depend on each other"
    assert result.node_errors["1"]["dependent_outputs"] == ["preview"]
    assert body_size(result) < ONE_MB


def test_the_ring_report_does_not_grow_with_the_ring():
    small, large = (body_size(validate_prompt(ring(n), ring_registry())) for n in (2_000, 20_000))
    assert large - small < 20  # only the counts have more digits


def test_every_node_failing_is_capped_and_counted():
    """20,000 nodes, each with a bad literal: the report names the first nodes and counts the rest."""
    prompt = {"1": node("Upscale", scale_by=-1)}  # two errors: missing link, below min
    for i in range(2, 20_001):
        prompt[str(i)] = node("Upscale", samples=[str(i - 1), 0], scale_by="x" * 500)
    prompt["decode"] = node("Decode", samples=["20000", 0])
    prompt["preview"] = node("Preview", images=["decode", 0])
    result = validate_prompt(prompt, ring_registry())
    assert not result.ok
    assert list(result.node_errors) == [str(i) for i in range(20_000, 20_000 - MAX_REPORTED_NODES, -1)]
    omitted = 20_000 - MAX_REPORTED_NODES
    assert result.error["extra_info"]["omitted_node_errors"] == omitted
    lines = result.error["details"].split("\n")
    assert len(lines) == error_bounds.MAX_DETAIL_LINES + 2
    assert lines[-2] == f"... and {20_001 - error_bounds.MAX_DETAIL_LINES} more"
    assert lines[-1] == f"... errors of {omitted} more nodes are not shown"
    (first,) = result.node_errors["20000"]["errors"]
    assert first["type"] == "invalid_input_type"
    assert len(first["extra_info"]["received_value"]) < 300
    assert body_size(result) < ONE_MB


def test_many_outputs_share_a_broken_upstream():
    """5,000 outputs over one broken 5,000-node chain: dependent_outputs is capped, and the walk that
    finds them holds at most MAX_DEPENDENT_OUTPUTS + 1 outputs per node (not outputs x nodes)."""
    reg = library()
    prompt = {"1": node("Int", value=999)}
    for i in range(2, 5_001):
        prompt[str(i)] = node("Add", a=[str(i - 1), 0], b=1)
    for i in range(5_000):
        prompt[f"out{i}"] = node("Save", value=["5000", 0])
    result = validate_prompt(prompt, reg)
    entry = result.node_errors["1"]
    assert entry["dependent_outputs"] == [f"out{i}" for i in range(MAX_DEPENDENT_OUTPUTS)]
    assert entry["more_dependent_outputs"] is True
    assert body_size(result) < ONE_MB

    sources = {node_id: [n["inputs"]["a"][0]] if "a" in n["inputs"] else [] for node_id, n in prompt.items()}
    sources.update({f"out{i}": ["5000"] for i in range(5_000)})
    found = _dependent_outputs([f"out{i}" for i in range(5_000)], sources)
    assert max(len(held) for held in found.values()) == MAX_DEPENDENT_OUTPUTS + 1
    assert sum(len(held) for held in found.values()) <= (MAX_DEPENDENT_OUTPUTS + 1) * len(sources)


def test_dependent_outputs_stay_exact_below_the_cap():
    sources = {"a": [], "b": ["a"], "c": ["a"], "o1": ["b"], "o2": ["c"], "o3": ["b", "c"]}
    found = _dependent_outputs(["o1", "o2", "o3"], sources)
    assert found["a"] == ["o1", "o2", "o3"]
    assert found["b"] == ["o1", "o3"] and found["c"] == ["o2", "o3"]


def test_errors_of_one_node_are_capped():
    reg = library()
    reg.add(make("Wide", [inp(f"x{i}") for i in range(50)], [out("INT")]))
    result = validate_prompt({"1": node("Wide"), "2": node("Save", value=["1", 0])}, reg)
    errs = result.node_errors["1"]["errors"]
    assert len(errs) == MAX_ERRORS_PER_NODE + 1
    assert errs[-1]["type"] == "more_errors_not_shown" and errs[-1]["extra_info"] == {"not_shown": 30}


def test_huge_ids_and_values_are_cut():
    reg = library()
    big_id = "n" * 100_000
    prompt = {big_id: node("Save", value=["m" * 1_000_000, 0]), "2": node("Add", a={"deep": [[[[1] * 5000]]]}, b=1),
              "3": node("Save", value=["2", 0])}
    result = validate_prompt(prompt, reg)
    assert body_size(result) < 300_000
    err = result.node_errors[big_id]["errors"][0]
    assert err["type"] == "bad_linked_input" and len(err["details"]) <= error_bounds.MAX_DETAILS_TEXT + 100


def test_many_unknown_nodes_are_capped():
    prompt = {str(i): node("Nope" * 200) for i in range(20_000)}
    result = validate_prompt(prompt, library())
    assert result.error["type"] == "invalid_prompt"
    assert len(result.node_errors) == MAX_REPORTED_NODES
    assert result.error["extra_info"]["omitted_node_errors"] == 20_000 - MAX_REPORTED_NODES
    assert len(result.error["details"].split("\n")) == error_bounds.MAX_DETAIL_LINES + 2
    assert body_size(result) < ONE_MB


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (float("nan"), "nan"),
        (float("-inf"), "-inf"),
        (2**300, "<an integer of 301 bits>"),
        ("x" * 300, "x" * 200 + "... (100 more characters)"),
        (list(range(3)), [0, 1, 2]),
        ({"a": (1, None, True)}, {"a": [1, None, True]}),
        (object, repr(object)),
    ],
)
def test_json_safe_values(value, expected):
    assert json_safe(value) == expected


def test_json_safe_caps_items_at_every_level_together():
    copy = json_safe([[0] * 150, [1] * 150])
    assert copy[0] == [0] * 150
    assert copy[1][:48] == [1] * 48 and copy[1][-1] == "... and 102 more"
    nested = [1]
    for _ in range(50):
        nested = [nested]
    text = json.dumps(json_safe(nested))
    assert text.count("[") == error_bounds.MAX_VALUE_DEPTH and '"..."' in text
    assert json_safe({str(i): i for i in range(500)})["..."] == "300 more"


def test_tracebacks_keep_the_innermost_frames():
    frames = [f"frame {i}\n" for i in range(200)]
    kept = capped_traceback(frames)
    assert kept == ["... 150 outer frames left out\n", *frames[150:]]
    assert capped_traceback(frames[:50]) == frames[:50]
    try:
        raise ValueError("x" * 5000)
    except ValueError as exc:
        info = exception_info(exc)
    assert info["exception_message"].endswith("(4000 more characters)")


def test_cycle_error_message_is_capped():
    exc = DependencyCycleError([[str(i)] for i in range(1_000)])
    assert str(exc).endswith("; and 980 more cycles")
    assert len(str(exc)) < 2_000
