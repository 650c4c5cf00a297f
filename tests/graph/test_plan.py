"""Planning: needed nodes, order, cycles."""

import pytest
from stubs import chain, library, node

from graph.plan import DependencyCycleError, build_plan, find_cycles, needed_nodes, topological_order


@pytest.fixture
def reg():
    return library()


def schema_of(reg):
    return lambda class_type: reg.get(class_type).schema()


def test_plan_contains_only_needed_nodes_in_dependency_order(reg):
    prompt = {
        "out": node("Save", value=["sum", 0]),
        "sum": node("Add", a=["x", 0], b=["y", 0]),
        "x": node("Int", value=1),
        "y": node("Int", value=2),
        "stray": node("Int", value=3),
        "other": node("Save", value=["stray", 0]),
    }
    plan = build_plan(prompt, ["out"], schema_of(reg))
    assert set(plan.order) == {"out", "sum", "x", "y"}
    position = {n: i for i, n in enumerate(plan.order)}
    assert position["x"] < position["sum"] and position["y"] < position["sum"] < position["out"]
    assert sorted(plan.links["sum"]) == [("a", "x", 0), ("b", "y", 0)]


def test_plan_ignores_undeclared_inputs_and_missing_targets(reg):
    prompt = {"1": node("Int", value=1, extra=["2", 0]), "2": node("Int", value=2), "3": node("Save", value=["1", 0])}
    plan = build_plan(prompt, ["3", "nope"], schema_of(reg))
    assert plan.order == ["1", "3"]


def test_plan_of_a_cycle_raises(reg):
    prompt = {"1": node("Add", a=["2", 0], b=1), "2": node("Add", a=["1", 0], b=1), "3": node("Save", value=["2", 0])}
    with pytest.raises(DependencyCycleError) as info:
        build_plan(prompt, ["3"], schema_of(reg))
    assert info.value.cycles == [["1", "2"]]
    assert "'#1', '#2'" in str(info.value)


def test_find_cycles_reports_self_loops_and_groups():
    sources = {"a": ["a"], "b": ["c"], "c": ["b"], "d": ["b"], "e": []}
    assert find_cycles(sources) == [["a"], ["b", "c"]]
    assert find_cycles({"a": [], "b": ["a"]}) == []


def test_topological_order_of_a_long_chain_is_iterative():
    n = 50_000
    sources = {str(i): [str(i - 1)] if i else [] for i in range(n)}
    order = topological_order(sources)
    assert order[0] == "0" and order[-1] == str(n - 1)


def test_needed_nodes_is_iterative_and_ordered(reg):
    prompt = chain(20_000)
    found = needed_nodes(["20000"], lambda n: [v[0] for v in prompt[n]["inputs"].values() if isinstance(v, list)])
    assert len(found) == 20_000 and found[0] == "20000"
