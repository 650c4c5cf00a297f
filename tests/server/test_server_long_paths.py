"""File routes with names too long for the file system, or under an existing file (issue 20, item 4):
a 400 with a clear message, never a 500; nothing is written."""

from __future__ import annotations

import errno
import json
import os
from urllib.parse import quote

import pytest
from test_server_files import multipart, png_bytes

LONG_PART = "a" * 300  # one name longer than the file system's 255 bytes
LONG_PATH = "/".join(["b" * 200] * 25)  # every part fits, the whole path does not (5,000 characters)


def _message(body: bytes) -> str:
    error = json.loads(body)["error"]
    return error if isinstance(error, str) else error["message"]


@pytest.mark.parametrize("subfolder", ["s" * 5000, LONG_PART, LONG_PATH])
def test_view_with_a_too_long_subfolder_is_400(live, subfolder):
    status, _, body = live.request("GET", f"/view?filename=x.png&type=output&subfolder={quote(subfolder)}")
    assert status == 400 and "too long" in _message(body)


def test_view_with_a_too_long_filename_is_400(live):
    status, _, body = live.request("GET", f"/view?filename={'f' * 300}.png")
    assert status == 400 and "longer than" in _message(body)


@pytest.mark.parametrize("name", [LONG_PART, "w/" + LONG_PART + ".json", quote(LONG_PATH, safe="")])
def test_userdata_with_a_too_long_name_is_400(live, name):
    encoded = quote(name, safe="%")
    for method in ("GET", "POST", "DELETE"):
        status, _, body = live.request(method, f"/userdata/{encoded}", raw=b"{}" if method == "POST" else None)
        assert status == 400, (method, status, body[:200])
        assert "too long" in _message(body)
    status, _, body = live.request("POST", f"/userdata/ok.json/move/{encoded}", raw=b"")
    assert status in (400, 404)


@pytest.mark.parametrize("path", [LONG_PART, LONG_PATH, "x/" + LONG_PART])
def test_v2_userdata_and_listing_with_a_too_long_path_are_400(live, path):
    for route in (f"/v2/userdata?path={quote(path)}", f"/userdata?dir={quote(path)}"):
        status, _, body = live.request("GET", route)
        assert status == 400 and "too long" in _message(body), (route, status)


@pytest.mark.parametrize("subfolder", [LONG_PART, LONG_PATH])
def test_upload_with_a_too_long_subfolder_is_400(live, subfolder):
    data, content_type = multipart({"subfolder": subfolder}, "x.png", png_bytes())
    for route in ("/upload/image", "/upload/mask"):
        status, _, body = live.request("POST", route, raw=data, headers={"Content-Type": content_type})
        assert status == 400 and "too long" in _message(body), (route, status, body[:200])
    assert not any(live.runtime.folders.input_dir.rglob("*.png"))


def test_userdata_path_under_an_existing_file_is_400(live):
    assert live.request("POST", "/userdata/ok_file", raw=b"data")[0] == 200
    for method in ("POST", "GET", "DELETE"):
        status, _, body = live.request(method, "/userdata/ok_file%2Fchild", raw=b"x" if method == "POST" else None)
        assert status == 400, (method, status, body)
        assert "ok_file" in _message(body) and "not a folder" in _message(body)
    status, _, body = live.request("POST", "/userdata/ok_file/move/ok_file%2Fchild", raw=b"")
    assert status == 400 and "not a folder" in _message(body)
    assert live.request("GET", "/v2/userdata?path=ok_file")[0] == 404  # not a folder
    assert (live.root / "user" / "default" / "ok_file").read_bytes() == b"data"


def test_upload_and_view_under_an_existing_file_are_400(live):
    assert live.request("POST", "/userdata/ok_file", raw=b"data")[0] == 200
    data, content_type = multipart({}, "plain.png", png_bytes())
    assert live.request("POST", "/upload/image", raw=data, headers={"Content-Type": content_type})[0] == 200
    data, content_type = multipart({"subfolder": "plain.png/deeper"}, "x.png", png_bytes())
    status, _, body = live.request("POST", "/upload/image", raw=data, headers={"Content-Type": content_type})
    assert status == 400 and "not a folder" in _message(body)
    status, _, body = live.request("GET", "/view?filename=x.png&type=input&subfolder=plain.png")
    assert status == 400 and "not a folder" in _message(body)


@pytest.mark.parametrize("code", [errno.ENAMETOOLONG, errno.ENOTDIR])
def test_a_path_error_the_checks_missed_is_still_a_400(live, monkeypatch, code):
    from server import routes_userdata

    def refuse(path, data, **_options):
        raise OSError(code, os.strerror(code), str(path))

    monkeypatch.setattr(routes_userdata, "_write_atomically", refuse)
    status, _, body = live.request("POST", "/userdata/fine.json", raw=b"{}")
    assert status == 400 and json.loads(body)["error"]["type"] == "bad_path"
    assert os.strerror(code) in json.loads(body)["error"]["message"]
