"""Files a prompt wrote into a worker's output folder without naming them in a ui output (checkpoints, latents,
a custom node's files), shipped in chunks to the coordinator's output folder (app/cluster/folder_sync.py).
No Ray: the worker class, the shipping and the receiving are plain Python."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import pytest

from app.cluster import folder_sync
from app.cluster.actor import PromptWorker
from app.cluster.folder_sync import IncomingFiles, changed_files, named_paths, safe_relative, ship_changed, snapshot
from app.cluster.outputs import Delivery
from app.cluster.runner import forward
from graph.events import ListSink
from nodes.api.declare import DeclaredNodeType, Int, Node, String
from nodes.api.runtime import runtime_of


def _receive(items, root: Path) -> IncomingFiles:
    incoming = IncomingFiles(root)
    for item in items:
        assert incoming.take(item)
    incoming.close()
    return incoming


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_snapshot_lists_regular_files_and_changed_files_finds_new_and_changed(tmp_path):
    out = tmp_path / "out"
    (out / "checkpoints").mkdir(parents=True)
    (out / "same.txt").write_bytes(b"same")
    (out / "grows.txt").write_bytes(b"a")
    (out / "touched.txt").write_bytes(b"t")
    (out / ".x.bin.abc.partial").write_bytes(b"arriving")
    (tmp_path / "outside.txt").write_bytes(b"outside")
    (out / "link.txt").symlink_to(tmp_path / "outside.txt")
    (out / "linked_dir").symlink_to(tmp_path, target_is_directory=True)
    before = snapshot(out)
    assert set(before) == {"same.txt", "grows.txt", "touched.txt"}  # no symlinks, nothing still arriving

    (out / "grows.txt").write_bytes(b"ab")
    stat = (out / "touched.txt").stat()
    os.utime(out / "touched.txt", ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    (out / "checkpoints" / "new.safetensors").write_bytes(b"weights")
    assert changed_files(before, snapshot(out)) == ["checkpoints/new.safetensors", "grows.txt", "touched.txt"]
    assert snapshot(tmp_path / "missing") == {}


def test_named_paths_are_relative_to_the_output_folder(tmp_path):
    named = {("output", "sub", "a.png"), ("output", "", "b.png"), ("temp", "", "c.png"), ("output", "..", "x")}
    assert named_paths(tmp_path, named) == {"sub/a.png", "b.png"}


def test_new_and_changed_files_travel_in_chunks_and_keep_their_relative_paths(tmp_path, caplog):
    worker, coordinator = tmp_path / "worker", tmp_path / "coordinator"
    (worker / "latents").mkdir(parents=True)
    (worker / "old.txt").write_bytes(b"old")
    (worker / "named.png").write_bytes(b"png")
    before = snapshot(worker)
    (worker / "named.png").write_bytes(b"png, rewritten")
    (worker / "checkpoints" / "sd").mkdir(parents=True)
    weights = bytes(range(256)) * 3
    (worker / "checkpoints" / "sd" / "model.safetensors").write_bytes(weights)
    (worker / "latents" / "empty.latent").write_bytes(b"")

    items = list(ship_changed(worker, before, {"named.png"}, chunk_bytes=100))
    chunks = [item for item in items if item[0] == "chunk"]
    assert len(chunks) == 8 and all(len(item[3]) <= 100 for item in chunks)  # 768 bytes in chunks of 100
    assert ("end", "checkpoints/sd/model.safetensors", 768) in items and ("end", "latents/empty.latent", 0) in items
    assert not any(item[1] in ("named.png", "old.txt") for item in items)  # named: shipped already; old: unchanged

    incoming = _receive(items, coordinator)
    assert _files(coordinator) == {"checkpoints/sd/model.safetensors": weights, "latents/empty.latent": b""}
    assert incoming.stored == {"checkpoints/sd/model.safetensors": "checkpoints/sd/model.safetensors",
                               "latents/empty.latent": "latents/empty.latent"}

    # The same bytes again: nothing written. Other bytes under a taken name: the content-hash name, logged.
    mtime = (coordinator / "checkpoints/sd/model.safetensors").stat().st_mtime_ns
    _receive(items, coordinator)
    assert (coordinator / "checkpoints/sd/model.safetensors").stat().st_mtime_ns == mtime
    (worker / "checkpoints" / "sd" / "model.safetensors").write_bytes(b"retrained")
    with caplog.at_level(logging.INFO, logger="latentgraph.cluster"):
        incoming = _receive(ship_changed(worker, before, chunk_bytes=4), coordinator)
    renamed = incoming.stored["checkpoints/sd/model.safetensors"]
    assert renamed.startswith("checkpoints/sd/model_") and renamed.endswith(".safetensors")
    assert (coordinator / renamed).read_bytes() == b"retrained"
    assert (coordinator / "checkpoints/sd/model.safetensors").read_bytes() == weights
    assert "stored as " + Path(renamed).name in caplog.text
    assert not [p for p in coordinator.rglob(".*")]  # no partial file left behind


def test_a_file_over_the_cap_stays_on_the_worker_with_a_warning_and_the_rest_travels(tmp_path, caplog, monkeypatch):
    worker, coordinator = tmp_path / "worker", tmp_path / "coordinator"
    worker.mkdir()
    before = snapshot(worker)
    (worker / "huge.ckpt").write_bytes(b"x" * 3000)
    (worker / "small.txt").write_bytes(b"s")
    monkeypatch.setenv(folder_sync.SHIP_MAX_MB_ENV, str(2000 / (1 << 20)))  # 2000 bytes
    with caplog.at_level(logging.WARNING, logger="latentgraph.cluster"):
        items = list(ship_changed(worker, before))
        _receive(items, coordinator)
    assert items[0][:3] == ("left", "huge.ckpt", 3000)
    assert _files(coordinator) == {"small.txt": b"s"}
    assert caplog.text.count("huge.ckpt") == 2  # the worker's warning and the coordinator's
    monkeypatch.setenv(folder_sync.SHIP_MAX_MB_ENV, "lots")
    assert folder_sync.ship_limit() == folder_sync.DEFAULT_SHIP_MAX_MB << 20


def test_paths_that_leave_the_output_folder_are_refused_and_nothing_is_written_outside(tmp_path, caplog):
    coordinator = tmp_path / "coordinator"
    (coordinator / "ok").mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    (coordinator / "escape").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    bad = ["../evil.txt", "/tmp/evil.txt", "ok/../../evil.txt", "escape/evil.txt", "ok//x", "ok\\..\\x", "", "."]
    with caplog.at_level(logging.ERROR, logger="latentgraph.cluster"):
        items = [item for rel in bad for item in (("chunk", rel, 0, b"evil"), ("end", rel, 4))]
        items += [("chunk", ["not", "a", "path"], 0, b"x"), ("end", "ok/.sneaky.partial", 0)]
        # A chunk out of order, and fewer bytes than announced: the file is dropped, not stored half.
        items += [("chunk", "ok/gap.bin", 0, b"ab"), ("chunk", "ok/gap.bin", 5, b"cd"), ("end", "ok/gap.bin", 4)]
        items += [("chunk", "ok/short.bin", 0, b"ab"), ("end", "ok/short.bin", 9)]
        _receive(items, coordinator)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == [
        "coordinator", "coordinator/escape", "coordinator/ok", "elsewhere"]
    assert caplog.text.count("refused a worker's output file") == len(bad) + 4
    assert safe_relative(coordinator, "ok/fine.txt") == (coordinator / "ok" / "fine.txt").resolve()

    # A worker that dies mid-file leaves no partial file once the prompt is given up.
    incoming = IncomingFiles(coordinator)
    incoming.take(("chunk", "ok/cut.bin", 0, b"half"))
    assert [p.name for p in (coordinator / "ok").iterdir()][0].endswith(".partial")
    incoming.close()
    assert list((coordinator / "ok").iterdir()) == []


class WriteUnnamed(Node):
    """Writes `<output>/<path>` and names it nowhere, as CheckpointSave or a custom node writing into
    folder_paths.get_output_directory() does."""

    node_id = "WriteUnnamed"
    output_node = True
    inputs = [String("path", default="checkpoints/model.safetensors"), Int("size", default=10, min=0, max=1 << 20),
              Int("fill", default=1, min=0, max=255)]
    outputs = []

    @classmethod
    def run(cls, ctx: Any, *, path: str, size: int, fill: int) -> dict:
        target = runtime_of(ctx, cls.node_id).folders.output_dir / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(bytes([fill]) * size)
        return {"ui": {}}


def _prompt(size: int, fill: int) -> dict:
    return {"1": {"class_type": "WriteUnnamed", "inputs": {"path": "checkpoints/model.safetensors",
                                                          "size": size, "fill": fill}},
            "2": {"class_type": "PrimitiveStringMultiline", "inputs": {"value": "hello"}},
            "3": {"class_type": "SaveText", "inputs": {"text": ["2", 0], "filename_prefix": "notes/run"}}}


def test_a_prompt_worker_ships_unnamed_files_beside_the_named_ones_once(tmp_path, monkeypatch):
    monkeypatch.setattr(folder_sync, "CHUNK_BYTES", 1000)
    worker = PromptWorker("w", ["--base-directory", str(tmp_path / "worker"), "--cpu", "--disable-all-custom-nodes"])
    worker.engine.registry.register(DeclaredNodeType(WriteUnnamed, worker.engine.runtime), source="tests")
    coordinator = tmp_path / "coordinator"

    def run(prompt_id: str, size: int, fill: int) -> tuple[list, Any]:
        delivery, incoming, sink = Delivery({"output": coordinator}), IncomingFiles(coordinator), ListSink()
        items = list(worker.execute(_prompt(size, fill), prompt_id, ["1", "3"], ship_files=True))
        outcomes = [forward(item, sink, delivery, incoming) for item in items]
        assert outcomes[-1] is not None and outcomes[-1].status == "success", sink.names()
        return items, outcomes[-1]

    items, outcome = run("p1", 2500, 1)
    kinds = [item[0] for item in items]
    assert kinds.count("file") == 1 and kinds.count("chunk") == 3 and kinds.count("end") == 1
    assert kinds.index("end") < kinds.index("result") and kinds.index("file") < kinds.index("end")
    assert [item[1] for item in items if item[0] == "end"] == ["checkpoints/model.safetensors"]  # not the named one
    assert outcome.outputs["3"]["files"] == [{"filename": "run_00001_.txt", "subfolder": "notes", "type": "output"}]
    assert _files(coordinator) == {"checkpoints/model.safetensors": b"\x01" * 2500, "notes/run_00001_.txt": b"hello"}

    # The node rewrites its file with other bytes: changed, so shipped again, under the content-hash name.
    items, _ = run("p2", 40, 2)
    ends = [item[1] for item in items if item[0] == "end"]
    assert ends == ["checkpoints/model.safetensors"]
    stored = _files(coordinator)
    assert stored["checkpoints/model.safetensors"] == b"\x01" * 2500
    assert [value for key, value in stored.items() if key.startswith("checkpoints/model_")] == [b"\x02" * 40]


@pytest.mark.parametrize("rel", ["a/b.txt", "b.txt"])
def test_safe_relative_accepts_plain_paths(tmp_path, rel):
    assert safe_relative(tmp_path, rel) == (tmp_path / rel).resolve()


def test_a_file_the_coordinator_cannot_write_is_logged_and_the_rest_goes_on(tmp_path, caplog):
    coordinator = tmp_path / "coordinator"
    coordinator.mkdir()
    (coordinator / "blocker").write_bytes(b"a file where a folder is wanted")
    items = [("chunk", "blocker/x.bin", 0, b"x"), ("end", "blocker/x.bin", 1), ("end", "fine.txt", 0)]
    with caplog.at_level(logging.ERROR, logger="latentgraph.cluster"):
        incoming = _receive(items, coordinator)
    assert "refused a worker's output file 'blocker/x.bin': it could not be written" in caplog.text
    assert incoming.stored == {"fine.txt": "fine.txt"}
    assert _files(coordinator) == {"blocker": b"a file where a folder is wanted", "fine.txt": b""}
    assert IncomingFiles(coordinator).take(("event", "progress", {})) is False


def test_a_prompt_worker_scans_its_output_folder_once_per_prompt_after_the_first(tmp_path, monkeypatch):
    """The after-scan of one prompt is the next one's before: with very many files each walk is costly."""
    worker = PromptWorker("w", ["--base-directory", str(tmp_path / "worker"), "--cpu", "--disable-all-custom-nodes"])
    worker.engine.registry.register(DeclaredNodeType(WriteUnnamed, worker.engine.runtime), source="tests")
    root = Path(worker.engine.folders.directory("output"))
    scans: list[str] = []
    real_scandir = os.scandir

    def counting_scandir(path="."):
        if Path(path) == root:
            scans.append(str(path))  # one walk of the output folder starts here
        return real_scandir(path)

    monkeypatch.setattr(folder_sync.os, "scandir", counting_scandir)

    def run(prompt_id: str, size: int, ship_files: bool = True) -> list[str]:
        scans.clear()
        items = list(worker.execute(_prompt(size, size % 256), prompt_id, ["1", "3"], ship_files=ship_files))
        assert items[-1][:2] == ("result", "success")
        return [item[1] for item in items if item[0] == "end"]

    assert run("p1", 10) == ["checkpoints/model.safetensors"] and len(scans) == 2  # the first: before and after
    assert run("p2", 20) == ["checkpoints/model.safetensors"] and len(scans) == 1  # rewritten: found by one scan
    (root / "between.txt").write_bytes(b"written between two prompts")
    assert run("p3", 30) == ["between.txt", "checkpoints/model.safetensors"] and len(scans) == 1
    assert run("p4", 30) == [] and len(scans) == 1  # nothing new (a cached run writes nothing)
    assert run("p5", 40, ship_files=False) == [] and scans == []
    assert run("p6", 50) == ["checkpoints/model.safetensors"] and len(scans) == 2  # unknown state: scans before

    # A stream given up before its shipping ended leaves no snapshot: the next prompt scans before it runs.
    stream = worker.execute(_prompt(60, 60), "p7", ["1", "3"], ship_files=True)
    assert next(stream)[0] == "event"
    stream.close()
    worker.settle()
    assert run("p8", 70) == ["checkpoints/model.safetensors"] and len(scans) == 2
