"""/internal/files/{output|input|temp} and /internal/folder_paths: content, order, bad input, and
that (as in ComfyUI) they are not mirrored under /api but still pass the security checks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from real_engine_harness import real_server

from server.config import ServerConfig
from server.routes_internal import newest_first


@pytest.fixture
def real(tmp_path):
    server = real_server(tmp_path)
    yield server
    server.stop()


def touch(path, mtime: float, data: bytes = b"x") -> None:
    path.write_bytes(data)
    os.utime(path, (mtime, mtime))


def test_files_are_top_level_visible_files_newest_first(real):
    output = real.runtime.folders.output_dir
    touch(output / "old.png", 1_000_000)
    touch(output / "new.png", 3_000_000)
    touch(output / "middle.txt", 2_000_000)
    touch(output / "tie_b.png", 1_500_000)
    touch(output / "tie_a.png", 1_500_000)
    touch(output / ".hidden.png", 4_000_000)
    (output / "sub").mkdir()
    touch(output / "sub" / "nested.png", 5_000_000)
    (output / "dir.png").mkdir()
    (output / "dangling.png").symlink_to(output / "nowhere.png")
    assert real.json("GET", "/internal/files/output") == (
        200, ["new.png", "middle.txt", "tie_a.png", "tie_b.png", "old.png"])


def test_a_symlink_pointing_outside_is_not_listed(real, tmp_path):
    """Issue 20, item 9: a link to a file outside the input folder is neither listed nor served."""
    folders = real.runtime.folders
    secret = tmp_path / "secret.png"
    touch(secret, 3_000_000, b"secret")
    touch(folders.input_dir / "real.png", 1_000_000)
    (folders.input_dir / "sub").mkdir()
    touch(folders.input_dir / "sub" / "deep.png", 1_000_000)
    (folders.input_dir / "out.png").symlink_to(secret)
    (folders.input_dir / "in.png").symlink_to(folders.input_dir / "sub" / "deep.png")
    (folders.input_dir / "up.png").symlink_to(Path("..") / secret.relative_to(folders.input_dir.parent))
    assert real.json("GET", "/internal/files/input") == (200, ["in.png", "real.png"])
    assert real.request("GET", "/view?filename=out.png&type=input")[0] == 403
    assert real.request("GET", "/view?filename=in.png&type=input")[0] == 200


def test_each_type_lists_its_own_folder(real):
    folders = real.runtime.folders
    touch(folders.input_dir / "in.png", 1)
    touch(folders.temp_dir / "tmp.png", 1)
    assert real.json("GET", "/internal/files/input") == (200, ["in.png"])
    assert real.json("GET", "/internal/files/temp") == (200, ["tmp.png"])


def test_a_missing_folder_lists_nothing(real):
    folders = real.runtime.folders
    folders.temp_dir.rmdir()
    assert real.json("GET", "/internal/files/temp") == (200, [])
    folders.temp_dir.write_text("not a folder")
    assert newest_first(folders.temp_dir) == []


@pytest.mark.parametrize("kind", ["models", "user", "Output", "..", "%2e%2e", "output%00", "x" * 500])
def test_other_directory_types_are_400(real, kind):
    status, body = real.json("GET", f"/internal/files/{kind}")
    assert status == 400 and body["error"]["type"] == "invalid_directory_type"
    assert "output, input, temp" in body["error"]["message"]


def test_traversal_in_the_path_never_lists_another_folder(real):
    status, _, body = real.request("GET", "/internal/files/../../etc")
    assert status in (400, 404) and b"passwd" not in body


def test_folder_paths_are_every_model_key_with_its_search_paths(real):
    status, paths = real.json("GET", "/internal/folder_paths")
    folders = real.runtime.folders
    assert status == 200
    assert paths["checkpoints"] == [str(folders.models_dir / "checkpoints")]
    assert paths["text_encoders"] == [str(folders.models_dir / "text_encoders"), str(folders.models_dir / "clip")]
    assert "custom_nodes" not in paths and "input" not in paths
    assert all(isinstance(v, list) and all(isinstance(p, str) for p in v) for v in paths.values())


def test_extra_model_paths_show_up(real):
    folders = real.runtime.folders
    folders.add_model_path("loras", folders.base_dir / "shared_loras")
    assert real.json("GET", "/internal/folder_paths")[1]["loras"] == [
        str(folders.models_dir / "loras"), str(folders.base_dir / "shared_loras")]


@pytest.mark.parametrize("path", ["/api/internal/folder_paths", "/api/internal/files/output"])
def test_internal_routes_are_not_mirrored_under_api(real, path):
    assert real.request("GET", path)[0] == 404


def test_internal_routes_need_the_token_and_a_matching_origin(tmp_path):
    server = real_server(tmp_path, config=ServerConfig(db_synchronous="NORMAL", token="s3cret"))
    try:
        assert server.request("GET", "/internal/folder_paths")[0] == 401
        assert server.request("GET", "/internal/files/output")[0] == 401
        auth = {"Authorization": "Bearer s3cret"}
        assert server.request("GET", "/internal/files/output", headers=auth)[0] == 200
        evil = {**auth, "Origin": "http://evil.example"}
        assert server.request("GET", "/internal/folder_paths", headers=evil)[0] == 403
    finally:
        server.stop()
