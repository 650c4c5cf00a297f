"""Safe checkpoint reading: valid files, lazy mmap access, and every way a file can be bad."""

from __future__ import annotations

import json
import pickle
import struct

import pytest
import torch
from safetensors.torch import save_file

from diffusion.checkpoints.checkpoint import (
    CheckpointError,
    SafetensorsStateDict,
    load_state_dict,
    read_safetensors_header,
)


def _write_raw_safetensors(path, header: dict, data: bytes) -> None:
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + data)


def test_safetensors_roundtrip_is_lazy_mapping(tmp_path):
    path = tmp_path / "m.safetensors"
    tensors = {"a.weight": torch.arange(6, dtype=torch.float32).reshape(2, 3), "b": torch.ones(4, dtype=torch.float16)}
    save_file(tensors, str(path), metadata={"note": "x"})
    sd = load_state_dict(path)
    assert isinstance(sd, SafetensorsStateDict)
    assert set(sd) == {"a.weight", "b"} and len(sd) == 2
    assert sd.shape("a.weight") == (2, 3) and sd.dtype_name("b") == "F16"
    assert sd.metadata == {"note": "x"}
    assert torch.equal(sd["a.weight"], tensors["a.weight"])
    assert sd["b"].dtype == torch.float16
    assert "missing" not in sd and "__metadata__" not in sd
    with pytest.raises(KeyError):
        sd["missing"]


def test_missing_file_names_the_file(tmp_path):
    for name in ("nope.safetensors", "nope.ckpt"):
        with pytest.raises(CheckpointError, match=rf"{name}: file not found"):
            load_state_dict(tmp_path / name)


def test_folder_is_refused(tmp_path):
    with pytest.raises(CheckpointError, match="folder"):
        load_state_dict(tmp_path)


def test_random_bytes_are_not_a_safetensors_file(tmp_path):
    path = tmp_path / "junk.safetensors"
    path.write_bytes(bytes(range(256)) * 10)
    with pytest.raises(CheckpointError, match=r"junk\.safetensors.*corrupt or not a safetensors file"):
        load_state_dict(path)


def test_tiny_file_is_refused(tmp_path):
    path = tmp_path / "tiny.safetensors"
    path.write_bytes(b"abc")
    with pytest.raises(CheckpointError, match="corrupt or not a safetensors file"):
        read_safetensors_header(path)


def test_absurd_header_length_refused_before_reading(tmp_path):
    path = tmp_path / "huge.safetensors"
    path.write_bytes(struct.pack("<Q", 2**60) + b"{}")
    with pytest.raises(CheckpointError, match=r"huge\.safetensors.*header claims"):
        load_state_dict(path)


def test_header_longer_than_file_is_truncated(tmp_path):
    path = tmp_path / "cut.safetensors"
    path.write_bytes(struct.pack("<Q", 1000) + b'{"a": 1')
    with pytest.raises(CheckpointError, match="incomplete/truncated"):
        load_state_dict(path)


def test_header_not_json(tmp_path):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(struct.pack("<Q", 4) + b"\xff\xfe{]")
    with pytest.raises(CheckpointError, match="header is not JSON"):
        load_state_dict(path)


def test_truncated_data_is_reported(tmp_path):
    path = tmp_path / "trunc.safetensors"
    save_file({"w": torch.zeros(1000)}, str(path))
    full = path.read_bytes()
    path.write_bytes(full[: len(full) - 100])
    with pytest.raises(CheckpointError, match=r"trunc\.safetensors: incomplete/truncated"):
        load_state_dict(path)


def test_absurd_shape_is_refused_before_allocating(tmp_path):
    path = tmp_path / "absurd.safetensors"
    header = {"w": {"dtype": "F32", "shape": [2**31, 2**31], "data_offsets": [0, 16]}}
    _write_raw_safetensors(path, header, bytes(16))
    with pytest.raises(CheckpointError, match=r"tensor 'w' of shape .* needs"):
        load_state_dict(path)


def test_offsets_past_end_of_file(tmp_path):
    path = tmp_path / "past.safetensors"
    header = {"w": {"dtype": "F32", "shape": [1000], "data_offsets": [0, 4000]}}
    _write_raw_safetensors(path, header, bytes(16))
    with pytest.raises(CheckpointError, match="incomplete/truncated"):
        load_state_dict(path)


@pytest.mark.parametrize(
    "entry, problem",
    [
        ({"dtype": "F99", "shape": [1], "data_offsets": [0, 4]}, "unknown dtype"),
        ({"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}, "invalid shape"),
        ({"dtype": "F32", "shape": [1], "data_offsets": [4, 0]}, "invalid data_offsets"),
        ({"dtype": "F32", "shape": [1]}, "invalid data_offsets"),
        ("not an object", "is not an object"),
    ],
)
def test_malformed_entries(tmp_path, entry, problem):
    path = tmp_path / "bad.safetensors"
    _write_raw_safetensors(path, {"w": entry}, bytes(4))
    with pytest.raises(CheckpointError, match=problem):
        load_state_dict(path)


def test_torch_file_unwraps_state_dict(tmp_path):
    path = tmp_path / "m.ckpt"
    torch.save({"state_dict": {"x.weight": torch.ones(2)}, "global_step": 5}, path)
    sd = load_state_dict(path)
    assert list(sd) == ["x.weight"] and torch.equal(sd["x.weight"], torch.ones(2))


def test_torch_file_unwraps_single_nested_dict(tmp_path):
    path = tmp_path / "m.pt"
    torch.save({"model": {"x": torch.zeros(3)}}, path)
    assert list(load_state_dict(path)) == ["x"]


def test_torch_file_plain_dict(tmp_path):
    path = tmp_path / "m.pth"
    torch.save({"a": torch.zeros(1), "b": torch.ones(1)}, path)
    assert set(load_state_dict(path)) == {"a", "b"}


class _WritesMarker:
    """A pickle payload that would create a file if it were ever unpickled unsafely."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
@pytest.mark.parametrize("writer", ["torch_save", "plain_pickle"])
def test_code_carrying_pickle_is_refused_and_never_runs(tmp_path, writer):
    marker = tmp_path / "pwned.txt"
    path = tmp_path / "evil.ckpt"
    payload = {"state_dict": {"w": torch.zeros(1)}, "evil": _WritesMarker(marker)}
    if writer == "torch_save":
        torch.save(payload, path)
    else:
        with path.open("wb") as handle:
            pickle.dump(payload, handle)
    with pytest.raises(CheckpointError, match=r"evil\.ckpt: refused to load"):
        load_state_dict(path)
    assert not marker.exists()


def test_corrupt_torch_file(tmp_path):
    path = tmp_path / "junk.ckpt"
    path.write_bytes(b"PK\x03\x04" + bytes(range(200)))
    with pytest.raises(CheckpointError, match=r"junk\.ckpt: corrupt"):
        load_state_dict(path)


def test_empty_torch_file(tmp_path):
    path = tmp_path / "empty.pt"
    path.write_bytes(b"")
    with pytest.raises(CheckpointError, match="empty file"):
        load_state_dict(path)


def test_truncated_torch_file(tmp_path):
    path = tmp_path / "cut.ckpt"
    torch.save({"w": torch.zeros(10000)}, path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=r"cut\.ckpt: corrupt"):
        load_state_dict(path)


def test_torch_file_without_tensors(tmp_path):
    path = tmp_path / "list.pt"
    torch.save([1, 2, 3], path)
    with pytest.raises(CheckpointError, match="not a model file"):
        load_state_dict(path)


def test_lightning_callback_in_old_ckpt_is_allowed(tmp_path, monkeypatch):
    """Old SD .ckpt files pickle pytorch_lightning's ModelCheckpoint; it is allowlisted as a stub."""
    import sys
    import types

    names = ["pytorch_lightning", "pytorch_lightning.callbacks", "pytorch_lightning.callbacks.model_checkpoint"]
    for name in names:
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))

    class ModelCheckpoint:
        pass

    ModelCheckpoint.__module__ = names[-1]
    ModelCheckpoint.__qualname__ = "ModelCheckpoint"
    sys.modules[names[-1]].ModelCheckpoint = ModelCheckpoint
    path = tmp_path / "lightning.ckpt"
    torch.save({"state_dict": {"w": torch.ones(2)}, "callbacks": {"cb": ModelCheckpoint()}}, path)
    for name in names:
        monkeypatch.delitem(sys.modules, name)
    assert list(load_state_dict(path)) == ["w"]


def test_release_drops_pages_without_losing_data(tmp_path):
    path = tmp_path / "big.safetensors"
    values = {"a": torch.randn(3, 5000), "b": torch.randn(20000), "c": torch.randn(7)}
    save_file(values, str(path))
    sd = load_state_dict(path)
    view = sd["b"]
    assert torch.equal(view, values["b"])
    for key in values:
        sd.release(key)
    sd.release("missing")  # unknown keys are ignored
    assert torch.equal(view, values["b"])  # pages are read again from the file
    assert all(torch.equal(sd[k], v) for k, v in values.items())


def test_a1111_embedding_pt_is_flattened(tmp_path):
    from diffusion.checkpoints.detect import detect_file_kind

    path = tmp_path / "style.pt"
    torch.save({"string_to_token": {"*": 265}, "string_to_param": {"*": torch.zeros(2, 768)}, "name": "style"}, path)
    sd = load_state_dict(path)
    assert list(sd) == ["string_to_param.*"] and sd["string_to_param.*"].shape == (2, 768)
    assert detect_file_kind(sd) == "embedding"
