"""The files a worker on another machine wrote, brought into the coordinator's folders (app/cluster/outputs.py),
and a worker whose coordinator died mid-prompt freed again (`PromptWorker.settle`), unless it was built from
other engine flags. No Ray: the worker class and
the delivery are plain Python."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.cluster.actor import PromptWorker, engine_signature
from app.cluster.outputs import Delivery, file_refs, read_files


class _Folders:
    def __init__(self, root: Path) -> None:
        self.root = root

    def directory(self, kind: str) -> Path:
        return self.root / kind


def test_file_refs_name_output_and_temp_files_only():
    ui = {"images": [{"filename": "a.png", "subfolder": "x", "type": "output"},
                     {"filename": "b.png", "subfolder": "", "type": "temp"},
                     {"filename": "c.png", "subfolder": "", "type": "input"}],
          "text": ["a.png"]}
    assert list(file_refs(ui)) == [("output", "x", "a.png"), ("temp", "", "b.png")]
    assert list(file_refs(None)) == [] and list(file_refs({"text": "plain"})) == []


def test_read_files_skips_missing_unsafe_and_shipped(tmp_path):
    (tmp_path / "output" / "x").mkdir(parents=True)
    (tmp_path / "output" / "x" / "a.png").write_bytes(b"A")
    (tmp_path / "secret.txt").write_bytes(b"no")
    ui = {"images": [{"filename": "a.png", "subfolder": "x", "type": "output"},
                     {"filename": "gone.png", "subfolder": "", "type": "output"},
                     {"filename": "secret.txt", "subfolder": "..", "type": "output"}]}
    shipped: set = set()
    assert list(read_files(_Folders(tmp_path), ui, shipped)) == [(("output", "x", "a.png"), b"A")]
    assert list(read_files(_Folders(tmp_path), ui, shipped)) == []  # each file once per prompt


def test_delivery_writes_keeps_same_and_renames_a_taken_name(tmp_path):
    out = tmp_path / "out"
    delivery = Delivery({"output": out, "temp": tmp_path / "temp"})
    assert delivery.store(("output", "sub", "a.png"), b"first") == "a.png"
    assert (out / "sub" / "a.png").read_bytes() == b"first"
    assert delivery.store(("output", "sub", "a.png"), b"first") == "a.png"  # the same bytes again: nothing new
    assert not delivery.renamed

    other = Delivery({"output": out})
    renamed = other.store(("output", "sub", "a.png"), b"second")
    assert renamed.startswith("a_") and renamed.endswith(".png")
    assert (out / "sub" / "a.png").read_bytes() == b"first" and (out / "sub" / renamed).read_bytes() == b"second"
    assert other.store(("output", "sub", "a.png"), b"second") == renamed  # idempotent under its new name
    ui = {"9": {"images": [{"filename": "a.png", "subfolder": "sub", "type": "output"}], "text": ["a.png"]}}
    assert other.rename(ui) == {"9": {"images": [{"filename": renamed, "subfolder": "sub", "type": "output"}],
                                      "text": ["a.png"]}}
    assert sorted(p.name for p in (out / "sub").iterdir()) == sorted(["a.png", renamed])  # no partial files left

    with pytest.raises(ValueError, match="outside the output folder"):
        other.store(("output", "..", "evil.png"), b"x")
    with pytest.raises(ValueError, match="outside the input folder"):
        other.store(("input", "", "a.png"), b"x")


def _count(steps: int, seconds: float) -> dict:
    return {"1": {"class_type": "CountTo", "inputs": {"steps": steps, "seconds_per_step": seconds}},
            "2": {"class_type": "PreviewAny", "inputs": {"source": ["1", 0]}}}


def test_a_worker_left_mid_prompt_by_its_coordinator_settles_and_takes_the_next(tmp_path):
    argv = ["--base-directory", str(tmp_path), "--cpu", "--disable-all-custom-nodes"]
    worker = PromptWorker("w", argv)
    assert worker.settle(timeout=1, signature=engine_signature(argv)) is True
    assert worker.settle(timeout=1, signature=engine_signature([*argv, "--output-directory", "x"])) is False
    orphan = worker.execute(_count(2000, 0.01), "orphan", ["2"])
    assert next(orphan)[1] == "execution_start"  # running; then its reader goes away without closing the stream
    assert worker.settle(timeout=10) is True
    items = list(worker.execute(_count(3, 0.0), "next", ["2"]))
    assert items[-1] == ("result", "success", {"2": {"text": ["3"]}})
    del orphan
