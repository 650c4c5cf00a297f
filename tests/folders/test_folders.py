"""Folder layout, ComfyUI's folder flags, listing and resolving files, safe names, the runtime's folders."""

from __future__ import annotations

import argparse
import os

import pytest

from folders.layout import Folders
from folders.model_folders import MODEL_EXTENSIONS
from folders.safe_paths import UnsafePathError, check_relative_name, safe_join
from nodes.api.runtime import DeviceRequest, NodeRuntime
from tests.folders.folder_helpers import parse, touch

# -------------------------------------------------------------------------- layout and flags


def test_default_layout_under_the_base(tmp_path):
    folders = Folders(tmp_path)
    assert folders.input_dir == tmp_path.resolve() / "input"
    assert folders.output_dir == tmp_path.resolve() / "output"
    assert folders.temp_dir == tmp_path.resolve() / "temp"
    assert folders.user_dir == tmp_path.resolve() / "user"
    models = tmp_path.resolve() / "models"
    assert folders.model_paths("checkpoints") == [models / "checkpoints"]
    assert folders.model_paths("text_encoders") == [models / "text_encoders", models / "clip"]
    assert folders.model_paths("clip") == folders.model_paths("text_encoders")
    assert folders.model_paths("diffusion_models") == [models / "unet", models / "diffusion_models"]
    assert folders.model_paths("unet") == folders.model_paths("diffusion_models")
    assert folders.model_paths("custom_nodes") == [tmp_path.resolve() / "custom_nodes"]
    assert folders.model_paths("output") == [folders.output_dir]
    for key in ("loras", "vae", "embeddings", "upscale_models", "configs"):
        assert folders.model_paths(key) == [models / key]


def test_ensure_dirs_creates_the_layout(tmp_path):
    folders = Folders(tmp_path / "b")
    folders.ensure_dirs()
    for sub in ("input", "output", "temp", "user", "models/checkpoints", "models/loras", "models/vae",
                "models/embeddings", "models/upscale_models", "models/text_encoders", "models/unet",
                "models/configs"):
        assert (tmp_path / "b" / sub).is_dir(), sub
    folders.ensure_dirs()  # idempotent


def test_unknown_model_key_names_the_known_ones(tmp_path):
    with pytest.raises(KeyError) as err:
        Folders(tmp_path).model_paths("chekpoints")
    assert "chekpoints" in str(err.value) and "checkpoints" in str(err.value)
    with pytest.raises(KeyError, match="unknown folder type 'models'"):
        Folders(tmp_path).directory("models")


def test_flags_move_each_directory(tmp_path):
    args = parse("--base-directory", str(tmp_path / "base"), "--input-directory", str(tmp_path / "in"),
                 "--output-directory", str(tmp_path / "out"), "--temp-directory", str(tmp_path / "tmpparent"),
                 "--user-directory", str(tmp_path / "usr"))
    folders = Folders.from_args(args)
    assert folders.base_dir == (tmp_path / "base").resolve()
    assert folders.input_dir == (tmp_path / "in").resolve()
    assert folders.output_dir == (tmp_path / "out").resolve()
    assert folders.temp_dir == (tmp_path / "tmpparent" / "temp").resolve()  # ComfyUI appends temp/
    assert folders.user_dir == (tmp_path / "usr").resolve()
    assert folders.model_paths("vae") == [(tmp_path / "base" / "models" / "vae").resolve()]


def test_flags_default_to_the_project_root():
    folders = Folders.from_args(parse())
    assert (folders.base_dir / "folders" / "layout.py").is_file()
    assert folders.output_dir == folders.base_dir / "output"


def test_from_args_tolerates_a_namespace_without_flags(tmp_path):
    folders = Folders.from_args(argparse.Namespace(base_directory=str(tmp_path)))
    assert folders.input_dir == tmp_path.resolve() / "input"


# -------------------------------------------------------------------------- listing and resolving


def test_list_files_is_recursive_sorted_filtered_and_merged(tmp_path):
    folders = Folders(tmp_path)
    ckpts = folders.model_paths("checkpoints")[0]
    touch(ckpts / "b.safetensors")
    touch(ckpts / "A.ckpt")
    touch(ckpts / "sd15" / "deep" / "c.SFT")
    touch(ckpts / "readme.txt")
    touch(ckpts / ".hidden.safetensors")
    touch(ckpts / ".cache" / "d.safetensors")
    extra = tmp_path / "extra_ckpts"
    touch(extra / "e.pth")
    touch(extra / "b.safetensors")  # same name as in the first folder: listed once
    folders.add_model_path("checkpoints", extra)
    assert folders.list_files("checkpoints") == ["A.ckpt", "b.safetensors", "e.pth", "sd15/deep/c.SFT"]
    assert folders.list_files("unet") == []


def test_all_model_extensions_are_listed(tmp_path):
    folders = Folders(tmp_path)
    for ext in MODEL_EXTENSIONS:
        touch(folders.model_paths("loras")[0] / f"m{ext}")
    assert len(folders.list_files("loras")) == len(MODEL_EXTENSIONS) == 8


def test_configs_list_yaml_and_input_lists_everything(tmp_path):
    folders = Folders(tmp_path)
    touch(folders.model_paths("configs")[0] / "v1-inference.yaml")
    touch(folders.model_paths("configs")[0] / "model.safetensors")
    touch(folders.input_dir / "photo.png")
    touch(folders.input_dir / "sub" / "mask.webp")
    assert folders.list_files("configs") == ["v1-inference.yaml"]
    assert folders.list_files("input") == ["photo.png", "sub/mask.webp"]
    assert folders.list_files("input", recursive=False) == ["photo.png"]
    assert folders.list_files("input", extensions={".webp"}) == ["sub/mask.webp"]


def test_list_files_follows_symlinked_folders_only_when_allowed(tmp_path):
    folders = Folders(tmp_path / "base")
    touch(tmp_path / "elsewhere" / "linked.safetensors")
    ckpts = folders.model_paths("checkpoints")[0]
    ckpts.mkdir(parents=True)
    os.symlink(tmp_path / "elsewhere", ckpts / "shared")
    assert folders.list_files("checkpoints") == []
    folders.follow_outside_symlinks = True
    assert folders.list_files("checkpoints") == ["shared/linked.safetensors"]


def test_a_folder_that_is_itself_a_link_lists_and_reads_its_files(tmp_path):
    folders = Folders(tmp_path / "base")
    real = touch(tmp_path / "library" / "model.safetensors")
    folders.models_dir.mkdir(parents=True)
    os.symlink(tmp_path / "library", folders.models_dir / "checkpoints")
    inside = touch(tmp_path / "library" / "sub" / "other.safetensors")
    os.symlink(inside, tmp_path / "library" / "alias.safetensors")  # a link that stays inside
    assert folders.list_files("checkpoints") == ["alias.safetensors", "model.safetensors", "sub/other.safetensors"]
    assert folders.resolve("checkpoints", "model.safetensors").resolve() == real.resolve()
    assert folders.resolve("checkpoints", "alias.safetensors").resolve() == inside.resolve()


def test_resolve_finds_files_in_any_folder(tmp_path):
    folders = Folders(tmp_path)
    first = touch(folders.model_paths("diffusion_models")[1] / "sub" / "u.safetensors")
    assert folders.resolve("unet", "sub/u.safetensors") == first.resolve()
    extra = touch(tmp_path / "more" / "x.safetensors")
    folders.add_model_path("diffusion_models", tmp_path / "more")
    assert folders.resolve("diffusion_models", "x.safetensors") == extra.resolve()


def test_resolve_missing_file_names_the_folder(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        Folders(tmp_path).resolve("checkpoints", "gone.safetensors")
    assert "'gone.safetensors'" in str(err.value) and "'checkpoints' folder" in str(err.value)
    assert str(tmp_path.resolve() / "models" / "checkpoints") in str(err.value)


@pytest.mark.parametrize(
    "name, message",
    [("../secret.safetensors", "'..'"), ("a/../../b", "'..'"), ("/etc/passwd", "absolute"), ("C:/x", "absolute"),
     ("a\\b.ckpt", "backslash"), ("a\x00b", "NUL"), ("", "non-empty"), (None, "non-empty"), (5, "non-empty")],
)
def test_resolve_refuses_unsafe_names(tmp_path, name, message):
    touch(tmp_path / "secret.safetensors")
    with pytest.raises(UnsafePathError, match=message):
        Folders(tmp_path).resolve("checkpoints", name)


def test_symlinks_pointing_outside_are_hidden_and_refused_unless_allowed(tmp_path):
    folders = Folders(tmp_path / "base")
    shared = touch(tmp_path / "library" / "shared.safetensors")
    touch(tmp_path / "library_dir" / "deep.safetensors")
    ckpts = folders.model_paths("checkpoints")[0]
    ckpts.mkdir(parents=True)
    os.symlink(shared, ckpts / "link.safetensors")
    os.symlink(tmp_path / "library_dir", ckpts / "lib")
    touch(ckpts / "own.safetensors")
    assert folders.list_files("checkpoints") == ["own.safetensors"]
    for name in ("link.safetensors", "lib/deep.safetensors"):
        with pytest.raises(UnsafePathError, match="is a link to a file outside it"):
            folders.resolve("checkpoints", name)
    folders.follow_outside_symlinks = True  # --follow-outside-symlinks: ComfyUI's behaviour
    assert folders.list_files("checkpoints") == ["lib/deep.safetensors", "link.safetensors", "own.safetensors"]
    assert folders.resolve("checkpoints", "link.safetensors").resolve() == shared.resolve()
    assert folders.resolve("checkpoints", "lib/deep.safetensors").is_file()


def test_safe_join(tmp_path):
    assert safe_join(tmp_path, "a", "b.png") == tmp_path.resolve() / "a" / "b.png"
    assert safe_join(tmp_path, "") == tmp_path.resolve()
    for parts in (("..", "x"), ("a/../../x",), ("/etc",)):
        with pytest.raises(UnsafePathError, match="outside the folder"):
            safe_join(tmp_path, *parts)
    with pytest.raises(UnsafePathError, match="NUL"):
        safe_join(tmp_path, "a\x00")
    with pytest.raises(UnsafePathError, match="must be a string"):
        safe_join(tmp_path, 5)
    os.symlink("/", tmp_path / "root_link")
    with pytest.raises(UnsafePathError):
        safe_join(tmp_path, "root_link", "etc")


def test_check_relative_name_accepts_ordinary_names():
    assert check_relative_name("sub/dir/file name (1).png") == "sub/dir/file name (1).png"
    assert check_relative_name("..hidden..name") == "..hidden..name"


@pytest.mark.parametrize(
    "name, expected",
    [("x.png [output]", ("output", "x.png")), ("sub/x.png [temp]", ("temp", "sub/x.png")),
     ("x.png[input]", ("input", "x.png")), ("x.png", ("input", "x.png")), ("x.png [other]", ("input", "x.png [other]"))],
)
def test_annotated_names(name, expected):
    assert Folders.annotated(name) == expected


def test_annotated_default_and_path(tmp_path):
    folders = Folders(tmp_path)
    assert Folders.annotated("a.png", default="output") == ("output", "a.png")
    assert folders.annotated_path("sub/a.png [output]") == folders.output_dir / "sub" / "a.png"
    assert folders.annotated_path("a.png") == folders.input_dir / "a.png"
    with pytest.raises(UnsafePathError):
        folders.annotated_path("../a.png [output]")


# -------------------------------------------------------------------------- runtime


def test_runtime_carries_folders_and_options(tmp_path):
    runtime = NodeRuntime.for_directory(tmp_path)
    assert runtime.folders.base_dir == tmp_path.resolve()
    assert runtime.devices == DeviceRequest(cpu=False, precision="auto")
    assert runtime.logger.name == "latentgraph"
    assert runtime.preview_method == "auto" and not runtime.disable_metadata
    assert not runtime.models_loaded and runtime.unload_models() is False  # nothing loaded: nothing to free


def test_runtime_refuses_unknown_options(tmp_path):
    with pytest.raises(ValueError, match="unknown precision 'fp8'; expected one of auto, fp32, bf16, fp16"):
        DeviceRequest(precision="fp8")
    with pytest.raises(ValueError, match="unknown preview method 'gif'"):
        NodeRuntime(folders=Folders(tmp_path), preview_method="gif")


def test_runtime_decides_the_device_once_on_first_use(tmp_path):
    runtime = NodeRuntime.for_directory(tmp_path, devices=DeviceRequest(cpu=True, precision="fp32"))
    models = runtime.models
    assert runtime.models_loaded and runtime.models is models
    assert str(models.choice.device) == "cpu" and str(models.choice.unet_dtype) == "torch.float32"


def test_the_follow_outside_symlinks_flag_reaches_the_folders(tmp_path):
    import argparse

    from folders.flags import add_folder_arguments

    parser = argparse.ArgumentParser()
    add_folder_arguments(parser)
    assert Folders.from_args(parser.parse_args(["--base-directory", str(tmp_path)])).follow_outside_symlinks is False
    chosen = parser.parse_args(["--base-directory", str(tmp_path), "--follow-outside-symlinks"])
    assert Folders.from_args(chosen).follow_outside_symlinks is True
