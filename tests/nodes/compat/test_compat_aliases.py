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
