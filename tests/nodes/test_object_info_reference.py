"""Every node type we share with ComfyUI v0.8 shows ComfyUI's own /object_info entry (scripts/compare_object_info.py),
except for the few deliberate differences listed in ALLOWED, each with its reason.

An allowance excuses one field only, and only while its condition holds (e.g. the switch's
match type declared as the wildcard it stands for); anything else is a failure that lists
every difference at once. Another test reports how many of the reference's node types we
register and keeps that number from going down.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from scripts import compare_object_info

# How many of the reference's 239 node types were registered when this floor was last raised.
REGISTERED_FLOOR = 239


def is_subsequence(small: list, big: list) -> bool:
    """True when every item of `small` is in `big`, in the same order."""
    rest = iter(big)
    return all(item in rest for item in small)


def _input_entry(node: dict, name: str) -> list:
    inputs = node.get("input", {})
    return inputs.get("required", {}).get(name) or inputs.get("optional", {})[name]


def _set_choices(entry: list, choices: list) -> None:
    if isinstance(entry[0], list):
        entry[0] = list(choices)
    else:
        entry[1]["options"] = list(choices)



def preview_any_text_output(ours: dict, ref: dict) -> bool:
    if ours.get("output") != ["STRING"] or ours.get("output_name") != ["STRING"] or ref.get("output") != []:
        return False
    for key in ("output", "output_is_list", "output_name"):
        ours[key] = copy.deepcopy(ref[key])
    return True


def switch_wildcards(ours: dict, ref: dict) -> bool:
    entries = [(_input_entry(ours, name), _input_entry(ref, name)) for name in ("on_false", "on_true")]
    if any(mine[0] != "*" or theirs[0] != "COMFY_MATCHTYPE_V3" for mine, theirs in entries):
        return False
    if ours.get("output") != ["*"] or ref.get("output") != ["COMFY_MATCHTYPE_V3"]:
        return False
    for mine, theirs in entries:
        mine[0] = theirs[0]
    ours["output"] = list(ref["output"])
    return True


@dataclass(frozen=True)
class Allowance:
    node: str
    what: str
    reason: str
    excuse: Callable[[dict, dict], bool]  # makes `ours` match `ref` in that field when the condition holds


ALLOWED = [
    Allowance("PreviewAny", "outputs", "newer ComfyUI gives PreviewAny a STRING output (v0.8 has none); we keep it",
              preview_any_text_output),
    Allowance("ComfySwitchNode", "on_false / on_true / output types",
              "ComfyUI's match type COMFY_MATCHTYPE_V3 is a wildcard in its validation; graph/types.py and the editor "
              "know no match types, so we declare the wildcard '*' itself", switch_wildcards),
]


def remaining_differences(ours: dict, reference: dict, allowed=ALLOWED) -> list[str]:
    """Every difference between our entries and the reference's for the shared node types, after the allowances."""
    excuses: dict[str, list[Allowance]] = {}
    for allowance in allowed:
        excuses.setdefault(allowance.node, []).append(allowance)
    problems = []
    for name in compare_object_info.shared_node_types(ours, reference):
        mine = copy.deepcopy(ours[name])
        for allowance in excuses.get(name, []):
            allowance.excuse(mine, reference[name])
        problems.extend(compare_object_info.node_differences(name, mine, reference[name]))
    return problems


@pytest.fixture(scope="module")
def reference() -> dict:
    path = compare_object_info.DEFAULT_REFERENCE
    if not path.is_file():
        pytest.skip(f"no reference /object_info at {path}")
    return compare_object_info.load_reference(path)


@pytest.fixture(scope="module")
def ours() -> dict:
    return compare_object_info.our_object_info()


def test_every_shared_node_type_matches_the_reference(ours, reference):
    problems = remaining_differences(ours, reference)
    assert not problems, f"{len(problems)} difference(s) from ComfyUI's /object_info:\n" + "\n".join(problems)
    unneeded = [f"{a.node} ({a.what})" for a in ALLOWED if a.node in ours
                and not compare_object_info.node_differences(a.node, ours[a.node], reference[a.node])]
    if unneeded:
        print("\nallowances no longer needed (remove them from ALLOWED): " + ", ".join(unneeded))


def test_every_allowance_names_a_shared_node_and_gives_a_reason(ours, reference):
    for allowance in ALLOWED:
        assert allowance.node in reference and allowance.reason.strip(), allowance


def test_allowances_excuse_only_what_they_describe(ours, reference):
    changed = copy.deepcopy(ours)
    sampler = _input_entry(changed["KSampler"], "sampler_name")
    _set_choices(sampler, list(reversed(compare_object_info.combo_choices(sampler))))  # not in ComfyUI's order
    changed["PreviewAny"]["output"] = ["INT"]
    changed["ComfySwitchNode"]["input"]["required"]["on_true"][0] = "IMAGE"
    changed["PreviewAny"]["category"] = "utilities"
    problems = remaining_differences(changed, reference)
    assert any(p.startswith("KSampler.sampler_name: choices") for p in problems)
    assert "PreviewAny: output ['INT'] != reference []" in problems
    assert "PreviewAny: category 'utilities' != reference 'utils'" in problems
    assert any(p.startswith("ComfySwitchNode.on_true: type 'IMAGE'") for p in problems)
    assert any(p.startswith("ComfySwitchNode: output") for p in problems)


def test_registered_share_of_the_reference_only_grows(ours, reference):
    shared = compare_object_info.shared_node_types(ours, reference)
    print(f"\nwe register {len(shared)} of the reference's {len(reference)} node types "
          f"({len(reference) - len(shared)} missing)")
    assert len(shared) >= REGISTERED_FLOOR, (
        f"only {len(shared)} of the reference's node types are registered; there were {REGISTERED_FLOOR}. Missing: "
        + ", ".join(n for n in reference if n not in ours))
