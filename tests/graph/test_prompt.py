"""API-format helpers: links, wrapped literals, document shape."""

import pytest

from graph.prompt import check_prompt_shape, is_link, link_index, unwrap_literal, wrap_literal


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (["1", 0], True),
        (["1", 0.0], True),
        (["1", 2.5], True),  # link-shaped; validation refuses the index
        (["1", True], False),
        ([1, 0], False),
        (["1"], False),
        (["1", 0, 0], False),
        (["1", "0"], False),
        (("1", 0), False),
        ({"__value__": ["1", 0]}, False),
        ("1", False),
    ],
)
def test_is_link(value, expected):
    assert is_link(value) is expected


@pytest.mark.parametrize(("raw", "expected"), [(0, 0), (3, 3), (2.0, 2), (2.5, None), (True, None), ("1", None), (float("nan"), None), (float("inf"), None)])
def test_link_index(raw, expected):
    assert link_index(raw) == expected


def test_wrap_and_unwrap_literals():
    assert unwrap_literal({"__value__": ["a", 1]}) == ["a", 1]
    assert unwrap_literal({"other": 1}) == {"other": 1}
    assert unwrap_literal(5) == 5
    assert wrap_literal(["a", 1]) == {"__value__": ["a", 1]}
    assert wrap_literal("x") == "x"


def test_well_formed_prompt_has_no_problems():
    assert check_prompt_shape({"1": {"class_type": "A", "inputs": {}}, "2": {"class_type": "B"}}) == []


@pytest.mark.parametrize("prompt", [[], "str", 123, None, [{"class_type": "A"}]])
def test_prompt_must_be_a_dict(prompt):
    (problem,) = check_prompt_shape(prompt)
    assert problem.node_id is None
    assert "JSON object" in problem.message


def test_every_malformed_node_is_reported():
    problems = check_prompt_shape(
        {
            "1": 5,
            "2": "class_type",
            "3": {"inputs": {}},
            "4": {"class_type": 7, "inputs": {}},
            "5": {"class_type": "A", "inputs": []},
            7: {"class_type": "A", "inputs": {}},
            "ok": {"class_type": "A", "inputs": {}},
        }
    )
    by_node = {p.node_id: p.message for p in problems}
    assert set(by_node) == {"1", "2", "3", "4", "5", 7}
    assert "must be a JSON object" in by_node["1"]
    assert "missing the class_type" in by_node["3"]
    assert "class_type of node '#4' must be a string" in by_node["4"]
    assert "inputs of node '#5'" in by_node["5"]
    assert "must be a string" in by_node[7]
