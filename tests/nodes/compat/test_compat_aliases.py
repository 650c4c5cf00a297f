"""ComfyUI's module names for packs (nodes/compat/aliases.py): the same module under both names, and a
clear error for a ComfyUI module that is not provided."""

from __future__ import annotations

import sys

import pytest

from nodes.compat import aliases


@pytest.fixture
def installed():
    aliases.install()
    yield
    aliases.uninstall()


def test_a_comfyui_name_is_the_compat_module(installed):
    import comfy

    import nodes.compat.comfy as compat

    assert comfy is compat and sys.modules["comfy"] is compat
    assert sys.meta_path[0] is aliases._FINDER
    aliases.install()  # idempotent
    assert sys.meta_path.count(aliases._FINDER) == 1


def test_a_module_not_provided_names_itself_and_what_exists(installed, monkeypatch):
    with pytest.raises(ModuleNotFoundError, match=r"comfy\.ldm is not one of them") as caught:
        import comfy.ldm.modules.attention  # noqa: F401
    assert caught.value.name == "comfy.ldm"
    assert "comfy.ldm" not in sys.modules
    monkeypatch.setitem(aliases.TOP_LEVEL, "comfy_planned", "nodes.compat.comfy_planned")
    with pytest.raises(ModuleNotFoundError, match="comfy_planned is not one of them.*top-level: .*comfy"):
        import comfy_planned  # noqa: F401


def test_names_outside_the_aliases_are_left_to_python(installed):
    assert aliases.target_of("comfyui_manager") is None
    assert aliases.target_of("comfy.utils") == "nodes.compat.comfy.utils"
    import json

    assert json.dumps([]) == "[]"


def test_uninstall_removes_the_finder_and_the_aliases(installed):
    import comfy  # noqa: F401

    aliases.uninstall()
    assert aliases._FINDER not in sys.meta_path and "comfy" not in sys.modules
    with pytest.raises(ModuleNotFoundError):
        import comfy  # noqa: F401,F811
    aliases.install()


def test_a_pack_importing_a_name_not_provided_is_reported_with_what_exists(tmp_path):
    from nodes.api.plugins import load_custom_nodes
    from nodes.api.registry import NodeRegistry

    (tmp_path / "wants_internals.py").write_text("from comfy.cli_args import no_such_symbol\nNODE_CLASS_MAPPINGS = {}\n")
    (tmp_path / "fine.py").write_text("import comfy.cli_args\nNODE_CLASS_MAPPINGS = {}\n")
    try:
        report = load_custom_nodes(NodeRegistry(), [tmp_path])
    finally:
        aliases.uninstall()
    (failed,) = report.failed
    assert failed.name == "wants_internals" and "no_such_symbol" in failed.error
    assert "ComfyUI's comfy.cli_args" in failed.error and "LatentPreviewMethod" in failed.error and "args" in failed.error
    assert report.pack("fine") is not None
