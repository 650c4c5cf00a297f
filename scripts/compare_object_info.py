"""Compares our /object_info with ComfyUI's own for its SD node types, node by node.

    .venv/bin/python scripts/compare_object_info.py [NODE ...] [--reference FILE] [--missing]

Prints one line per difference (input names and order, types, defaults, ranges, combo
options, outputs, category, output_node) for the given nodes, or for every node both sides
have; `--missing` also lists the reference's node types we do not register. Exit 1 when a
difference was found. The reference, tests/fixtures/comfyui-v0.8-sd-nodes.json, is ComfyUI v0.8's own
/object_info for those types (a copy of ../shared/reference/comfyui-v0.8-sd-nodes.json, kept with
the tests so they never depend on a folder outside the checkout).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_REFERENCE = ROOT / "tests" / "fixtures" / "comfyui-v0.8-sd-nodes.json"
# Options compared when the reference states them (tooltips and UI hints are not compared).
COMPARED_OPTIONS = ("default", "min", "max", "step", "round", "multiline", "options", "forceInput", "lazy")
# Combo inputs whose choices depend on the files present (compared as "a combo", not by options).
FILE_COMBOS = frozenset()


def input_differences(name: str, ours: dict, ref: dict) -> list[str]:
    problems = []
    for section in ("required", "optional"):
        mine, theirs = ours.get("input", {}).get(section, {}), ref.get("input", {}).get(section, {})
        # The reference file's input dicts are key-sorted: its input_order keeps the real order.
        ref_order = ref.get("input_order", {}).get(section, list(theirs))
        if list(mine) != list(ref_order):
            problems.append(f"{name}: {section} inputs {list(mine)} != reference {list(ref_order)}")
        for key in theirs:
            if key in mine:
                problems.extend(entry_differences(f"{name}.{key}", mine[key], theirs[key]))
    mine_hidden, ref_hidden = ours.get("input", {}).get("hidden", {}), ref.get("input", {}).get("hidden", {})
    if set(mine_hidden) != set(ref_hidden):
        problems.append(f"{name}: hidden inputs {sorted(mine_hidden)} != reference {sorted(ref_hidden)}")
    return problems


def combo_choices(entry: list) -> list | None:
    kind = entry[0]
    if isinstance(kind, list):
        return kind
    if kind == "COMBO":
        return list((entry[1] if len(entry) > 1 else {}).get("options", []))
    return None


def entry_differences(where: str, mine: list, theirs: list) -> list[str]:
    problems = []
    mine_choices, ref_choices = combo_choices(mine), combo_choices(theirs)
    if (mine_choices is None) != (ref_choices is None):
        return [f"{where}: type {mine[0]!r} != reference {theirs[0]!r}"]
    if ref_choices is None and mine[0] != theirs[0]:
        problems.append(f"{where}: type {mine[0]!r} != reference {theirs[0]!r}")
    mine_opts = mine[1] if len(mine) > 1 else {}
    ref_opts = theirs[1] if len(theirs) > 1 else {}
    if ref_choices is not None and not ref_opts.get("image_upload") and where.split(".")[-1] not in FILE_COMBOS:
        if _is_file_list(ref_choices):
            pass  # a folder listing on ComfyUI's machine: only "is a combo" is comparable
        elif mine_choices != ref_choices:
            problems.append(f"{where}: choices {mine_choices} != reference {ref_choices}")
    for option in COMPARED_OPTIONS:
        if option == "options":
            continue
        # A flag left out means False, as the editor reads it.
        unset = False if isinstance(ref_opts.get(option), bool) else None
        if option in ref_opts and mine_opts.get(option, unset) != ref_opts[option]:
            problems.append(f"{where}: {option} {mine_opts.get(option)!r} != reference {ref_opts[option]!r}")
    return problems


def _is_file_list(choices: list) -> bool:
    return any(isinstance(c, str) and "." in c and c.rsplit(".", 1)[-1] in {"safetensors", "ckpt", "pt", "pth", "bin",
                                                                             "png", "jpg", "yaml", "latent"}
               for c in choices) or choices == []


def node_differences(name: str, ours: dict, ref: dict) -> list[str]:
    problems = input_differences(name, ours, ref)
    for key in ("output", "output_is_list", "output_name", "output_node", "category"):
        if ours.get(key) != ref.get(key):
            problems.append(f"{name}: {key} {ours.get(key)!r} != reference {ref.get(key)!r}")
    return problems


def load_reference(path: Path = DEFAULT_REFERENCE) -> dict:
    """ComfyUI's /object_info for its SD node types, as stored in `path`."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def shared_node_types(ours: dict, reference: dict) -> list[str]:
    """The reference's node types that we register too, in the reference's order."""
    return [name for name in reference if name in ours]


def our_object_info() -> dict:
    from nodes.api.runtime import NodeRuntime
    from nodes.build import build_registry

    with tempfile.TemporaryDirectory() as base:
        registry, _ = build_registry(NodeRuntime.for_directory(base), [])
        return registry.object_info()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("nodes", nargs="*", help="node ids to compare (default: every node both sides have)")
    parser.add_argument("--reference", type=Path, default=DEFAULT_REFERENCE)
    parser.add_argument("--missing", action="store_true", help="also list the reference's node types we lack")
    args = parser.parse_args(argv)
    reference = load_reference(args.reference)
    ours = our_object_info()
    names = args.nodes or shared_node_types(ours, reference)
    problems = []
    for name in names:
        if name not in reference:
            problems.append(f"{name}: not in the reference")
        elif name not in ours:
            problems.append(f"{name}: not registered here")
        else:
            problems.extend(node_differences(name, ours[name], reference[name]))
    if args.missing:
        absent = [n for n in reference if n not in ours]
        problems.extend(f"{n}: missing ({reference[n].get('category')})" for n in absent)
    print("\n".join(problems) if problems else f"{len(names)} node types match the reference")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
