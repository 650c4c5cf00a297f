"""GET /view_metadata/{folder}?filename=X.safetensors: the header's __metadata__, and every way a
name or a file can be wrong (a 4xx naming the problem, never a 500)."""

from __future__ import annotations

import json
import struct
from urllib.parse import quote

import numpy as np
import pytest
from real_engine_harness import real_server
from safetensors.numpy import save_file
from server_schema_check import problems

from server.openapi import document
from server.routes_metadata import MAX_HEADER_BYTES, MetadataError, read_safetensors_metadata

META = {"modelspec.title": "Tiny test model", "ss_network_dim": "4", "note": "ünïcode ✓"}


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    server = real_server(tmp_path_factory.mktemp("metadata"))
    folders = server.runtime.folders
    save_file({"w": np.zeros((2, 2), dtype=np.float32)}, str(folders.models_dir / "checkpoints" / "tiny.safetensors"),
              metadata=META)
    (folders.models_dir / "loras" / "sub").mkdir(parents=True, exist_ok=True)
    save_file({"w": np.ones(3, dtype=np.float16)}, str(folders.models_dir / "loras" / "sub" / "lora.safetensors"),
              metadata={"k": "v"})
    save_file({"w": np.ones(3, dtype=np.float16)}, str(folders.models_dir / "vae" / "plain.safetensors"))
    clip = folders.models_dir / "text_encoders"
    clip.mkdir(parents=True, exist_ok=True)
    save_file({"w": np.ones(1, dtype=np.float32)}, str(clip / "enc.safetensors"), metadata={"enc": "1"})
    (folders.models_dir / "checkpoints" / "folder.safetensors").mkdir()
    yield server
    server.stop()


def get(server, folder: str, filename: str | None):
    query = "" if filename is None else "?filename=" + quote(filename, safe="")
    status, headers, body = server.request("GET", f"/view_metadata/{folder}{query}")
    assert headers["content-type"].startswith("application/json"), body
    return status, json.loads(body)


def write_raw(server, name: str, data: bytes) -> str:
    (server.runtime.folders.models_dir / "checkpoints" / name).write_bytes(data)
    return name


def header_file(header: bytes, declared: int | None = None, tail: bytes = b"") -> bytes:
    return struct.pack("<Q", len(header) if declared is None else declared) + header + tail


def test_metadata_of_a_real_safetensors_file(real):
    status, body = get(real, "checkpoints", "tiny.safetensors")
    assert status == 200 and body == META
    doc = document()
    schema = doc["paths"]["/view_metadata/{folder_name}"]["get"]["responses"]["200"]["content"]["application/json"]
    assert problems(body, schema["schema"], doc) == []
    assert real.json("GET", "/api/view_metadata/loras?filename=sub%2Flora.safetensors") == (200, {"k": "v"})
    assert get(real, "loras", "sub/lora.safetensors") == (200, {"k": "v"})


def test_legacy_folder_key_clip_reads_text_encoders(real):
    assert get(real, "clip", "enc.safetensors") == (200, {"enc": "1"})


@pytest.mark.parametrize("folder,filename,status,kind", [
    ("checkpoints", None, 400, "missing_filename"),
    ("checkpoints", "", 400, "missing_filename"),
    ("checkpoints", "tiny.ckpt", 404, "not_safetensors"),
    ("checkpoints", "tiny.safetensors.txt", 404, "not_safetensors"),
    ("checkpoints", "../loras/sub/lora.safetensors", 403, "bad_path"),
    ("checkpoints", "sub/../../x.safetensors", 403, "bad_path"),
    ("checkpoints", "/etc/x.safetensors", 403, "bad_path"),
    ("checkpoints", "C:/x.safetensors", 403, "bad_path"),
    ("checkpoints", "a\\..\\x.safetensors", 400, "bad_path"),
    ("checkpoints", "a\x00.safetensors", 400, "bad_path"),
    ("checkpoints", "a\nb.safetensors", 400, "bad_path"),
    ("checkpoints", "x" * 2000 + ".safetensors", 400, "bad_path"),
    ("checkpoints", "x" * 300 + ".safetensors", 400, "bad_path"),  # longer than the file system allows
    ("checkpoints", "missing.safetensors", 404, "not_found"),
    ("checkpoints", "folder.safetensors", 404, "not_found"),
    ("loras", "tiny.safetensors", 404, "not_found"),
    ("nope", "tiny.safetensors", 404, "unknown_folder"),
    ("custom_nodes", "tiny.safetensors", 404, "unknown_folder"),
    ("input", "tiny.safetensors", 404, "unknown_folder"),
    ("vae", "plain.safetensors", 404, "no_metadata"),
])
def test_bad_names_and_missing_files(real, folder, filename, status, kind):
    got_status, body = get(real, folder, filename)
    assert got_status == status and body["error"]["type"] == kind, body
    assert body["error"]["message"]


CORRUPT = {
    "shorter than the length": b"\x01\x02",
    "length beyond the file": header_file(b'{"__metadata__": {}}', declared=1000),
    "length over the limit": header_file(b"{}", declared=MAX_HEADER_BYTES + 1),
    "length 2**64-1": b"\xff" * 8 + b"{}",
    "length zero": header_file(b"", declared=0),
    "not JSON": header_file(b"{not json at all}"),
    "not UTF-8": header_file(b'{"\xff\xfe": 1}'),
    "a JSON list": header_file(b"[1, 2]"),
    "metadata a list": header_file(b'{"__metadata__": ["a"]}'),
    "NaN": header_file(b'{"__metadata__": {"a": NaN}}'),
    "deep nesting": header_file(b"[" * 200000 + b"]" * 200000),
}


@pytest.mark.parametrize("name", sorted(CORRUPT))
def test_corrupt_headers_are_422_never_500(real, name):
    filename = write_raw(real, f"corrupt_{sorted(CORRUPT).index(name)}.safetensors", CORRUPT[name])
    status, body = get(real, "checkpoints", filename)
    assert status == 422 and body["error"]["type"] == "invalid_safetensors", body
    assert filename in body["error"]["message"]


def test_padded_header_and_header_without_metadata(real, tmp_path):
    padded = header_file(b'{"__metadata__": {"a": "b"}}' + b" " * 6, tail=b"\x00" * 16)
    assert get(real, "checkpoints", write_raw(real, "padded.safetensors", padded)) == (200, {"a": "b"})
    status, body = get(real, "checkpoints", write_raw(real, "bare.safetensors", header_file(b'{"w": {}}')))
    assert status == 404 and body["error"]["type"] == "no_metadata"


def test_reader_reads_only_the_header(tmp_path):
    path = tmp_path / "big.safetensors"
    header = b'{"__metadata__": {"x": "y"}}'
    with open(path, "wb") as handle:
        handle.write(struct.pack("<Q", len(header)) + header)
        handle.seek(64 * 1024 * 1024)  # a sparse 64 MB file: only the header may be read
        handle.write(b"\x00")
    assert read_safetensors_metadata(path) == {"x": "y"}
    with pytest.raises(MetadataError) as info:
        read_safetensors_metadata(path, max_header_bytes=10)
    assert info.value.status == 422 and "10 allowed" in str(info.value)
