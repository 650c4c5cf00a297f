"""A custom node writing into folder_paths.get_output_directory() on a real Ray worker with its own output folder:
the file (larger than one chunk) arrives in the coordinator's output folder before the prompt's result, beside
a named SaveText file. Uses the session's one local cluster (conftest.py)."""

from __future__ import annotations

import pytest

ray = pytest.importorskip("ray")

from app.cluster.actor import remote_worker_class  # noqa: E402
from app.cluster.folder_sync import CHUNK_BYTES  # noqa: E402
from app.cluster.runner import RayPromptRunner  # noqa: E402

PACK = '''
import os
import folder_paths


class WriteIntoOutput:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"name": ("STRING", {"default": "x.bin"}),
                             "size": ("INT", {"default": 1, "min": 0, "max": 1 << 30})}}

    RETURN_TYPES = ()
    FUNCTION = "write"
    OUTPUT_NODE = True
    CATEGORY = "tests"

    def write(self, name, size):
        path = os.path.join(folder_paths.get_output_directory(), name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(bytes(range(256)) * (size // 256))
        return {}


NODE_CLASS_MAPPINGS = {"WriteIntoOutput": WriteIntoOutput}
'''


def test_unnamed_files_of_a_ray_worker_reach_the_coordinators_output_folder(tmp_path, ray_cluster):
    worker_base, coordinator = tmp_path / "worker", tmp_path / "coordinator"
    (worker_base / "custom_nodes" / "writer").mkdir(parents=True)
    (worker_base / "custom_nodes" / "writer" / "__init__.py").write_text(PACK)
    size = (CHUNK_BYTES // 256 + 1) * 256  # two chunks
    prompt = {"1": {"class_type": "WriteIntoOutput", "inputs": {"name": "models/custom.bin", "size": size}},
              "2": {"class_type": "PrimitiveStringMultiline", "inputs": {"value": "hi"}},
              "3": {"class_type": "SaveText", "inputs": {"text": ["2", 0], "filename_prefix": "notes/n"}}}
    actor = remote_worker_class(num_cpus=1).remote("sync", ["--base-directory", str(worker_base), "--cpu"])
    try:
        runner = RayPromptRunner(actor, "sync", {"output": str(coordinator / "output"),
                                                 "temp": str(coordinator / "temp")})
        outcome = runner.execute(prompt, prompt_id="p1", outputs=["1", "3"])
        assert outcome.status == "success"
        arrived = coordinator / "output" / "models" / "custom.bin"
        assert arrived.read_bytes() == (worker_base / "output" / "models" / "custom.bin").read_bytes()
        assert arrived.stat().st_size == size
        assert (coordinator / "output" / "notes" / "n_00001_.txt").read_text() == "hi"
        assert sorted(p.name for p in (coordinator / "output").rglob("*") if p.is_file()) == [
            "custom.bin", "n_00001_.txt"]
    finally:
        ray.kill(actor, no_restart=True)
