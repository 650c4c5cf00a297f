"""ComfyUI's `folder_paths` for custom node packs (nodes/compat/folder_paths.py): a pack that imports it
loads, and each function answers from latentgraph's folders the way ComfyUI's does."""

from __future__ import annotations

import textwrap
from types import SimpleNamespace

import pytest

from folders.layout import Folders
from folders.safe_paths import UnsafePathError
from nodes.api.plugins import load_custom_nodes
from nodes.api.registry import NodeRegistry
from nodes.compat import folder_paths as fp

PACK_USING_FOLDER_PATHS = """
import os
import folder_paths

folder_paths.add_model_folder_path("ipadapter", os.path.join(folder_paths.models_dir, "ipadapter"))

class ListLoras:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"lora": (folder_paths.get_filename_list("loras"),)}}
    RETURN_TYPES = ("STRING",)
    FUNCTION = "go"
    CATEGORY = "test"
    def go(self, lora):
        return (folder_paths.get_full_path("loras", lora),)

NODE_CLASS_MAPPINGS = {"ListLoras": ListLoras}
"""


@pytest.fixture
def folders(tmp_path):
    folders = Folders(tmp_path)
    folders.ensure_dirs()
    (folders.models_dir / "loras" / "style").mkdir(parents=True)
    (folders.models_dir / "loras" / "style" / "ink.safetensors").write_bytes(b"x")
    (folders.models_dir / "loras" / "notes.txt").write_text("not a model")
    fp.bind(folders)
    return folders


def test_a_pack_importing_folder_paths_loads_and_sees_the_models(tmp_path, folders):
    packs = tmp_path / "custom_nodes"
    packs.mkdir()
    (packs / "lora_pack.py").write_text(textwrap.dedent(PACK_USING_FOLDER_PATHS))
    registry = NodeRegistry()
    report = load_custom_nodes(registry, [packs], SimpleNamespace(folders=folders))
    assert report.failed == [], report.failed
    assert report.pack("lora_pack").node_ids == ["ListLoras"]
    assert fp.get_folder_paths("ipadapter") == [str(folders.models_dir / "ipadapter")]
    info = registry.object_info_for("ListLoras")["ListLoras"]
    assert info["input"]["required"]["lora"][0] == ["style/ink.safetensors"]


def test_directories_and_module_attributes(folders):
    assert fp.get_input_directory() == str(folders.input_dir) == fp.input_directory
    assert fp.get_output_directory() == str(folders.output_dir) == fp.output_directory
    assert fp.get_temp_directory() == str(folders.temp_dir)
    assert fp.get_user_directory() == str(folders.user_dir)
    assert fp.models_dir == str(folders.models_dir)
    assert fp.get_directory_by_type("output") == str(folders.output_dir)
    assert fp.get_directory_by_type("models") is None


def test_model_lists_and_lookups(folders):
    assert fp.get_filename_list("loras") == ["style/ink.safetensors"]
    assert fp.get_full_path("loras", "style/ink.safetensors") == str(folders.models_dir / "loras" / "style" /
                                                                     "ink.safetensors")
    assert fp.get_full_path("loras", "missing.safetensors") is None
    assert fp.get_full_path("loras", "../../etc/passwd") is None
    with pytest.raises(FileNotFoundError, match="missing.safetensors"):
        fp.get_full_path_or_raise("loras", "missing.safetensors")
    with pytest.raises(KeyError, match="no_such_folder"):
        fp.get_filename_list("no_such_folder")


def test_folder_names_and_paths_reads_live_and_assignment_adds_a_folder(folders, tmp_path):
    paths, extensions = fp.folder_names_and_paths["loras"]
    assert paths == fp.get_folder_paths("loras") and ".safetensors" in extensions
    extra = tmp_path / "elsewhere"
    fp.folder_names_and_paths["my_models"] = ([str(extra)], fp.supported_pt_extensions)
    assert "my_models" in fp.folder_names_and_paths
    assert fp.get_folder_paths("my_models") == [str(extra)]
    with pytest.raises(TypeError):
        del fp.folder_names_and_paths["loras"]


def test_annotated_names(folders):
    (folders.output_dir / "made.png").write_bytes(b"x")
    assert fp.annotated_filepath("made.png [output]") == ("made.png", str(folders.output_dir))
    assert fp.annotated_filepath("plain.png") == ("plain.png", None)
    assert fp.get_annotated_filepath("made.png [output]") == str(folders.output_dir / "made.png")
    assert fp.get_annotated_filepath("in.png") == str(folders.input_dir / "in.png")
    assert fp.get_annotated_filepath("in.png", "/somewhere") == "/somewhere/in.png"
    assert fp.exists_annotated_filepath("made.png [output]")
    assert not fp.exists_annotated_filepath("made.png")


def test_save_image_path_counts_on_from_existing_files(folders):
    out = str(folders.output_dir)
    (folders.output_dir / "shots").mkdir()
    (folders.output_dir / "shots" / "cat_00007_.png").write_bytes(b"x")
    folder, stem, counter, subfolder, prefix = fp.get_save_image_path("shots/cat", out, 64, 64)
    assert (folder, stem, counter, subfolder, prefix) == (str(folders.output_dir / "shots"), "cat", 8, "shots",
                                                          "shots/cat")
    assert fp.get_save_image_path("size_%width%x%height%", out, 512, 768)[1] == "size_512x768"
    (folders.output_dir / "many_99999_.png").write_bytes(b"x")
    assert fp.get_save_image_path("many", out)[2] == 100000
    with pytest.raises(UnsafePathError):
        fp.get_save_image_path("../escape", out)


def test_filter_files_extensions():
    assert fp.filter_files_extensions(["b.PT", "a.safetensors", "c.txt"], [".safetensors", ".pt"]) == [
        "a.safetensors", "b.PT"]
    assert fp.filter_files_extensions(["b", "a"], []) == ["a", "b"]


def test_using_it_before_binding_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(fp, "_folders", None)
    with pytest.raises(fp.NotBoundError, match="not bound"):
        fp.get_output_directory()
