"""Output file names: ComfyUI's counter naming, and prefixes that would escape the output folder."""

from __future__ import annotations

import pytest

from folders.layout import Folders
from folders.output_names import next_counter_path
from folders.safe_paths import UnsafePathError


def test_counter_naming_follows_comfyui(tmp_path):
    path, subfolder, filename = next_counter_path(tmp_path, "ComfyUI")
    assert (subfolder, filename) == ("", "ComfyUI_00001_.png")
    assert path == tmp_path.resolve() / "ComfyUI_00001_.png"
    path.write_bytes(b"")
    (tmp_path / "ComfyUI_00007_.png").write_bytes(b"")
    (tmp_path / "ComfyUI_00003_.webp").write_bytes(b"")
    (tmp_path / "ComfyUIx_00050_.png").write_bytes(b"")  # another prefix
    (tmp_path / "ComfyUI_notanumber_.png").write_bytes(b"")
    assert next_counter_path(tmp_path, "ComfyUI")[2] == "ComfyUI_00008_.png"
    assert next_counter_path(tmp_path, "comfyui")[2] == "comfyui_00008_.png"  # case-insensitive like ComfyUI
    assert next_counter_path(tmp_path, "ComfyUI", "txt")[2] == "ComfyUI_00008_.txt"


def test_counter_naming_with_subfolder_and_large_counters(tmp_path):
    path, subfolder, filename = next_counter_path(tmp_path, "portraits/me")
    assert subfolder == "portraits" and filename == "me_00001_.png"
    assert path.parent.is_dir()
    (path.parent / "me_123456_.png").write_bytes(b"")
    assert next_counter_path(tmp_path, "portraits/me")[2] == "me_123457_.png"
    assert next_counter_path(tmp_path, "a/b/c")[1] == "a/b"


@pytest.mark.parametrize("prefix", ["../escape", "a/../../escape", "/abs", "a\\b", "", "   ", None, ".", "sub/.."])
def test_counter_naming_refuses_escaping(tmp_path, prefix):
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(UnsafePathError):
        next_counter_path(out, prefix)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_folders_next_output_path(tmp_path):
    folders = Folders(tmp_path)
    assert folders.next_output_path("x", "txt")[0] == folders.output_dir / "x_00001_.txt"
