"""Custom node pack loading: good packs load, broken packs are reported by name and skipped."""

from __future__ import annotations

import sys
import textwrap

from nodes.api.plugins import MODULE_PREFIX, discover_packs, load_custom_nodes
from nodes.api.registry import NodeRegistry

CLASSIC_NODE = """
class {name}:
    @classmethod
    def INPUT_TYPES(cls):
        return {{"required": {{"x": ("INT", {{"default": 1}})}}}}
    RETURN_TYPES = ("INT",)
    FUNCTION = "go"
    CATEGORY = "test"
    def go(self, x):
        return (x + {add},)
"""


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def good_pack(root, name="good_pack", node="GoodNode"):
    pack = root / name
    write(pack / "nodes_impl.py", CLASSIC_NODE.format(name=node, add=1))
    write(pack / "__init__.py", f"""
        from .nodes_impl import {node}
        NODE_CLASS_MAPPINGS = {{"{node}": {node}}}
        NODE_DISPLAY_NAME_MAPPINGS = {{"{node}": "Good Node"}}
        WEB_DIRECTORY = "./js"
    """)
    write(pack / "js" / "good.js", "console.log('good');\n")
    return pack


def test_good_package_pack_loads_with_display_names_and_web_dir(tmp_path):
    pack = good_pack(tmp_path)
    registry = NodeRegistry()
    report = load_custom_nodes(registry, [tmp_path])
    assert report.failed == []
    loaded = report.pack("good_pack")
    assert loaded.node_ids == ["GoodNode"] and loaded.refused == []
    assert loaded.web_dir == (pack / "js").resolve()
    assert registry.web_directories() == {"good_pack": (pack / "js").resolve()}
    info = registry.object_info()["GoodNode"]
    assert info["display_name"] == "Good Node" and info["python_module"] == "custom_nodes.good_pack"
    assert registry.get("GoodNode").execute(None, {"x": 2}).values == (3,)


def test_single_file_pack(tmp_path):
    write(tmp_path / "single.py", CLASSIC_NODE.format(name="Single", add=10) +
          "NODE_CLASS_MAPPINGS = {'Single': Single}\n")
    registry = NodeRegistry()
    report = load_custom_nodes(registry, [tmp_path])
    assert report.pack("single").node_ids == ["Single"]
    assert report.pack("single").web_dir is None
    assert registry.get("Single").execute(None, {"x": 1}).values == (11,)


def test_broken_packs_are_reported_by_name_and_the_rest_loads(tmp_path):
    good_pack(tmp_path)
    write(tmp_path / "syntax_error.py", "def broken(:\n")
    write(tmp_path / "raises" / "__init__.py", "raise RuntimeError('missing dependency foo')\n")
    write(tmp_path / "no_mappings.py", "X = 1\n")
    write(tmp_path / "bad_mapping.py", "NODE_CLASS_MAPPINGS = ['not', 'a', 'dict']\n")
    write(tmp_path / "exits.py", "import sys\nsys.exit(3)\n")
    write(tmp_path / "bad_import.py", "import a_module_that_does_not_exist_anywhere\n")
    registry = NodeRegistry()
    report = load_custom_nodes(registry, [tmp_path])
    assert [p.name for p in report.loaded] == ["good_pack"]
    failed = {f.name: f.error for f in report.failed}
    assert set(failed) == {"syntax_error", "raises", "no_mappings", "bad_mapping", "exits", "bad_import"}
    assert failed["syntax_error"].startswith("SyntaxError")
    assert failed["raises"] == "RuntimeError: missing dependency foo"
    assert "defines no NODE_CLASS_MAPPINGS" in failed["no_mappings"]
    assert "must be a dict" in failed["bad_mapping"]
    assert failed["exits"].startswith("SystemExit")
    assert "a_module_that_does_not_exist_anywhere" in failed["bad_import"]
    assert all(f.traceback for f in report.failed)
    assert registry.class_types() == ["GoodNode"]
    assert any("'raises'" in line and "missing dependency foo" in line for line in report.messages)
    # Failed modules are not left half-imported.
    assert not [m for m in sys.modules if m.startswith(MODULE_PREFIX + "raises")]


def test_duplicate_node_id_between_packs_names_both(tmp_path):
    good_pack(tmp_path, "a_pack", "SharedNode")
    good_pack(tmp_path, "b_pack", "SharedNode")
    registry = NodeRegistry()
    report = load_custom_nodes(registry, [tmp_path])
    assert report.pack("a_pack").node_ids == ["SharedNode"]
    assert report.pack("b_pack").node_ids == []
    refusal = report.pack("b_pack").refused[0]
    assert "'SharedNode'" in refusal and "pack 'a_pack'" in refusal and "pack 'b_pack'" in refusal
    assert registry.source_of("SharedNode") == "pack 'a_pack'"


def test_a_class_that_is_not_a_node_is_refused_alone(tmp_path):
    write(tmp_path / "mixed.py", CLASSIC_NODE.format(name="Fine", add=0) +
          "class NotANode:\n    pass\n"
          "NODE_CLASS_MAPPINGS = {'Fine': Fine, 'NotANode': NotANode}\n")
    registry = NodeRegistry()
    report = load_custom_nodes(registry, [tmp_path])
    pack = report.pack("mixed")
    assert pack.node_ids == ["Fine"]
    assert "'NotANode' refused" in pack.refused[0]


def test_skipped_entries(tmp_path):
    good_pack(tmp_path, "off.disabled", "Off")
    write(tmp_path / ".hidden.py", "raise RuntimeError('should not load')\n")
    write(tmp_path / "__pycache__" / "__init__.py", "raise RuntimeError('should not load')\n")
    write(tmp_path / "notes.txt", "not a pack")
    write(tmp_path / "plain_dir" / "readme.md", "no __init__")
    write(tmp_path / "old.py.disabled", "raise RuntimeError('should not load')\n")
    assert discover_packs(tmp_path) == []
    report = load_custom_nodes(NodeRegistry(), [tmp_path, tmp_path / "missing"])
    assert report.loaded == [] and report.failed == []


def test_web_directory_that_does_not_exist_is_ignored(tmp_path):
    write(tmp_path / "webless.py", CLASSIC_NODE.format(name="Webless", add=0) +
          "NODE_CLASS_MAPPINGS = {'Webless': Webless}\nWEB_DIRECTORY = 'nowhere'\n")
    registry = NodeRegistry()
    report = load_custom_nodes(registry, [tmp_path])
    assert report.pack("webless").web_dir is None and registry.web_directories() == {}


def test_same_pack_name_in_two_directories(tmp_path):
    good_pack(tmp_path / "one", "twin", "TwinA")
    good_pack(tmp_path / "two", "twin", "TwinB")
    registry = NodeRegistry()
    report = load_custom_nodes(registry, [tmp_path / "one", tmp_path / "two"])
    assert report.pack("twin").node_ids == ["TwinA"]
    assert "already loaded" in report.failed[0].error


def test_declared_nodes_in_a_pack(tmp_path):
    write(tmp_path / "declared.py", """
        from nodes.api.declare import Int, Node, Out

        class Triple(Node):
            node_id = "Triple"
            inputs = [Int("x", default=1)]
            outputs = [Out("INT")]

            @classmethod
            def run(cls, ctx, *, x):
                return (3 * x,)

        NODE_CLASS_MAPPINGS = {"Triple": Triple}
    """)
    registry = NodeRegistry()
    report = load_custom_nodes(registry, [tmp_path])
    assert report.pack("declared").node_ids == ["Triple"]
    assert registry.get("Triple").execute(None, {"x": 2}).values == (6,)
    assert registry.object_info()["Triple"]["python_module"] == "custom_nodes.declared"


def test_loading_the_same_pack_twice_uses_fresh_modules(tmp_path):
    good_pack(tmp_path)
    first, second = NodeRegistry(), NodeRegistry()
    load_custom_nodes(first, [tmp_path])
    load_custom_nodes(second, [tmp_path])
    assert first.get("GoodNode").cls is not second.get("GoodNode").cls
