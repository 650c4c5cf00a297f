"""Structural signatures: equal for equal sub-graphs, changed exactly downstream of a change."""

import math

import pytest
from stubs import chain, inp, library, make, node, out

from graph.plan import build_plan
from graph.signature import canonical, compute_signatures


@pytest.fixture
def reg():
    return library()


def sigs(reg, prompt, targets):
    def type_of(class_type):
        t = reg.get(class_type)
        return t, t.schema()

    plan = build_plan(prompt, targets, lambda ct: reg.get(ct).schema())
    return compute_signatures(prompt, plan.order, plan.links, type_of)


def test_same_subgraph_under_other_ids_has_equal_signatures(reg):
    a = {"1": node("Int", value=3), "2": node("Add", a=["1", 0], b=4), "3": node("Save", value=["2", 0])}
    b = {"x": node("Int", value=3), "y": node("Add", b=4, a=["x", 0]), "z": node("Save", value=["y", 0])}
    sa, sb = sigs(reg, a, ["3"]), sigs(reg, b, ["z"])
    assert sa["1"] == sb["x"] and sa["2"] == sb["y"] and sa["3"] == sb["z"]


def test_changed_literal_changes_only_downstream(reg):
    before = chain(10)
    after = chain(10)
    after["5"]["inputs"]["b"] = 2
    s1, s2 = sigs(reg, before, ["10"]), sigs(reg, after, ["10"])
    changed = {n for n in s1 if s1[n] != s2[n]}
    assert changed == {"5", "6", "7", "8", "9", "10"}


def test_signature_depends_on_output_index_version_and_type(reg):
    reg.add(make("Two", [], [out("INT"), out("INT")]))
    p0 = {"1": node("Two"), "2": node("Save", value=["1", 0])}
    p1 = {"1": node("Two"), "2": node("Save", value=["1", 1])}
    assert sigs(reg, p0, ["2"])["2"] != sigs(reg, p1, ["2"])["2"]
    v1 = sigs(reg, {"1": node("Image")}, ["1"])["1"]
    reg.add(make("Image", [], [out("IMAGE")], version="2"))
    assert sigs(reg, {"1": node("Image")}, ["1"])["1"] != v1
    assert sigs(reg, {"1": node("Int", value=1)}, ["1"])["1"] != sigs(reg, {"1": node("Seed", seed=1)}, ["1"])["1"]


def test_int_float_and_bool_literals_differ(reg):
    reg.add(make("Any", [inp("v", "*")], [out("*")]))
    values = [1, 1.0, True, "1", {"__value__": [1]}, {"__value__": [1, 2]}, {"k": 1}]
    found = {sigs(reg, {"1": node("Any", v=v)}, ["1"])["1"] for v in values}
    assert len(found) == len(values)


def test_absent_optional_differs_from_present(reg):
    reg.add(make("Opt", [inp("x", required=False)], [out("INT")]))
    assert sigs(reg, {"1": node("Opt")}, ["1"])["1"] != sigs(reg, {"1": node("Opt", x=0)}, ["1"])["1"]


def test_fingerprint_is_part_of_the_key(reg):
    state = {"v": "a"}
    reg.add(make("File", [inp("name", "STRING")], [out("STRING")], fingerprint=lambda inputs: state["v"]))
    p = {"1": node("File", name="x")}
    first = sigs(reg, p, ["1"])["1"]
    assert sigs(reg, p, ["1"])["1"] == first
    state["v"] = "b"
    assert sigs(reg, p, ["1"])["1"] != first


def test_fingerprint_receives_literals_and_none_for_links(reg):
    seen = []
    reg.add(make("Seen", [inp("a"), inp("b")], [out("INT")], fingerprint=lambda inputs: seen.append(inputs)))
    sigs(reg, {"1": node("Int", value=1), "2": node("Seen", a=["1", 0], b=2)}, ["2"])
    assert seen == [{"a": None, "b": 2}]


@pytest.mark.parametrize("fingerprint", [lambda i: 1 / 0, lambda i: math.nan, lambda i: object()])
def test_failing_or_unequal_fingerprint_never_matches(reg, fingerprint):
    reg.add(make("Volatile", [], [out("INT")], fingerprint=fingerprint))
    p = {"1": node("Volatile"), "2": node("Save", value=["1", 0])}
    s1, s2 = sigs(reg, p, ["2"]), sigs(reg, p, ["2"])
    assert s1["1"] != s2["1"] and s1["2"] != s2["2"]


def test_is_changed_key_overrides_fingerprint(reg):
    p = {"1": {"class_type": "Int", "inputs": {"value": 1}, "is_changed": "v1"}}
    q = {"1": {"class_type": "Int", "inputs": {"value": 1}, "is_changed": "v2"}}
    assert sigs(reg, p, ["1"])["1"] != sigs(reg, q, ["1"])["1"]


def test_node_id_in_key_for_not_idempotent_and_unique_id(reg):
    reg.add(make("Rand", [], [out("INT")], not_idempotent=True))
    reg.add(make("Who", [], [out("STRING")], hidden=(("uid", "UNIQUE_ID"),)))
    for class_type in ("Rand", "Who"):
        s = sigs(reg, {"1": node(class_type), "2": node(class_type)}, ["1", "2"])
        assert s["1"] != s["2"]
    s = sigs(reg, {"1": node("Image"), "2": node("Image")}, ["1", "2"])
    assert s["1"] == s["2"]


def test_unhashable_literal_never_matches(reg):
    reg.add(make("Any", [inp("v", "*")], [out("*")]))
    p = {"1": node("Any", v=object())}
    assert sigs(reg, p, ["1"])["1"] != sigs(reg, p, ["1"])["1"]
    assert canonical({"b": 1, "a": [1, 2]}) == canonical({"a": [1, 2], "b": 1})
    assert canonical(math.inf) != canonical(math.inf)


def test_long_chain_signatures(reg):
    s = sigs(reg, chain(20_000), ["20000"])
    assert len(set(s.values())) == 20_000
