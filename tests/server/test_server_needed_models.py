"""The worker tells the runtime, before each prompt, which model files the next queued prompts name, so the
model manager keeps those resident (server/needed_models.py): through a real server on a paused queue, the
name matching on real folders, and a failing runtime that never fails a prompt."""

from __future__ import annotations

from pathlib import Path

from server_harness import LiveServer, simple_prompt
from server_stub_nodes import StubRuntime

from folders.layout import Folders
from nodes.api.runtime import NodeRuntime
from server.needed_models import NeededModelsTarget, model_file_names, resolve_model_files


class HintedRuntime(StubRuntime):
    """A stub runtime that records what the worker tells it, and which prompt was pending then."""

    def __init__(self, root: Path, *, fail: bool = False) -> None:
        super().__init__(root)
        self.told: list[list[str]] = []
        self.fail = fail

    def models_needed_soon(self, paths) -> None:
        if self.fail:
            raise RuntimeError("the model manager is broken")
        self.told.append(list(paths))


def with_models(value: int, **files: str) -> dict:
    """simple_prompt plus a loader-like node naming model files (not wired to the output: never run)."""
    prompt = simple_prompt(value)
    prompt["9"] = {"class_type": "Const", "inputs": {"value": 0, **files}}
    return prompt


def model(folders, key: str, name: str) -> str:
    path = folders.root / "models" / key / name
    path.write_bytes(b"weights")
    return str(path.resolve())


def test_each_prompt_starts_after_the_runtime_learns_the_pending_prompts_files(tmp_path):
    runtime = HintedRuntime(tmp_path)
    a = model(runtime.folders, "checkpoints", "a.safetensors")
    b = model(runtime.folders, "checkpoints", "b.safetensors")
    v = model(runtime.folders, "vae", "v.safetensors")
    live = LiveServer(tmp_path, runtime=runtime)
    try:
        assert live.json("POST", "/queue", {"pause": True})[0] == 200
        prompts = [with_models(1, ckpt_name="a.safetensors"),
                   with_models(2, ckpt_name="b.safetensors", text="a photo of a cat.safetensors-free day"),
                   with_models(3, ckpt_name="a.safetensors", vae_name="v.safetensors",
                               lora_name="missing.safetensors"),
                   simple_prompt(4)]
        ids = [live.queue_prompt(prompt)["prompt_id"] for prompt in prompts]
        assert live.json("POST", "/queue", {"resume": True})[0] == 200
        for pid in ids:
            assert live.wait_done(pid)["status"]["status_str"] == "success"
    finally:
        live.stop()
    # before A: B, C and the plain prompt are pending; before B: C; then nothing names a model
    assert runtime.told == [[b, a, v], [a, v], [], []]


def test_a_runtime_that_fails_to_take_the_hint_fails_no_prompt(tmp_path):
    runtime = HintedRuntime(tmp_path, fail=True)
    model(runtime.folders, "checkpoints", "a.safetensors")
    live = LiveServer(tmp_path, runtime=runtime)
    try:
        live.json("POST", "/queue", {"pause": True})
        ids = [live.queue_prompt(with_models(i, ckpt_name="a.safetensors"))["prompt_id"] for i in (1, 2)]
        live.json("POST", "/queue", {"resume": True})
        assert [live.wait_done(pid)["status"]["status_str"] for pid in ids] == ["success", "success"]
    finally:
        live.stop()


def test_names_are_matched_in_every_model_folder_of_the_real_layout(tmp_path):
    folders = Folders(tmp_path)
    folders.ensure_dirs()
    (folders.models_dir / "checkpoints" / "sub").mkdir()
    ckpt = folders.models_dir / "checkpoints" / "sub" / "x.safetensors"
    ckpt.write_bytes(b"w")
    unet = folders.models_dir / "unet" / "u.gguf"
    unet.write_bytes(b"w")
    prompt = {"1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sub/x.safetensors"}},
              "2": {"class_type": "UnetLoaderGGUF", "inputs": {"unet_name": "u.gguf", "model": ["1", 0]}},
              "3": {"class_type": "LoadImage", "inputs": {"image": "x.png"}},
              "4": {"class_type": "Bad", "inputs": {"ckpt_name": "../outside.safetensors", "n": 3}},
              "5": "not a node"}
    names = model_file_names(prompt)
    assert names == ["sub/x.safetensors", "u.gguf", "../outside.safetensors"]
    assert resolve_model_files(folders, names) == [str(ckpt.resolve()), str(unet.resolve())]


def test_the_node_runtime_is_what_the_worker_tells(tmp_path):
    assert isinstance(NodeRuntime.for_directory(tmp_path), NeededModelsTarget)
    assert not isinstance(StubRuntime(tmp_path), NeededModelsTarget)  # other runtimes are simply not told
