"""Queue-aware eviction on Ray workers, without Ray: the coordinator names the model files of the prompts a
worker will probably run next (pool.take, routing.likely_next); the worker resolves them against its own
folders and tells its model manager, before the prompt runs. A name it cannot resolve is left out; a failure
to work them out never fails the prompt."""

from __future__ import annotations

import logging

from app.cluster import actor as actor_module
from app.cluster.actor import PromptWorker
from server.needed_models import model_files_named


def _count(steps: int) -> dict:
    return {"1": {"class_type": "CountTo", "inputs": {"steps": steps, "seconds_per_step": 0.0}},
            "2": {"class_type": "PreviewAny", "inputs": {"source": ["1", 0]}}}


def test_a_worker_tells_its_model_manager_the_files_it_holds_of_the_names_it_is_sent(tmp_path, monkeypatch, caplog):
    worker = PromptWorker("w", ["--base-directory", str(tmp_path), "--cpu", "--disable-all-custom-nodes"])
    keep = worker.engine.folders.model_paths("checkpoints")[0] / "keep.safetensors"
    keep.parent.mkdir(parents=True, exist_ok=True)
    keep.write_bytes(b"not read: only its path counts")
    names = ["keep.safetensors", "absent.safetensors", "../../escape.safetensors"]

    items = list(worker.execute(_count(2), "p1", ["2"], needed_models=names))
    assert items[-1] == ("result", "success", {"2": {"text": ["2"]}})
    assert worker.engine.runtime.needed_soon == (str(keep.resolve()),)
    assert worker.describe()["needed_soon"] == [str(keep.resolve())]
    assert not worker.engine.runtime.models_loaded  # a hint loads nothing (no torch for a prompt without models)

    list(worker.execute(_count(1), "p2", ["2"], needed_models=[]))  # nothing queued next: nothing kept
    assert worker.engine.runtime.needed_soon == ()
    list(worker.execute(_count(1), "p3", ["2"], needed_models=names))
    list(worker.execute(_count(1), "p4", ["2"]))  # an older coordinator sends no names: the last hint stays
    assert worker.engine.runtime.needed_soon == (str(keep.resolve()),)

    def broken(*_args):
        raise OSError("folder gone")

    monkeypatch.setattr("server.needed_models.resolve_model_files", broken)
    with caplog.at_level(logging.ERROR, logger=actor_module.log.name):
        items = list(worker.execute(_count(1), "p5", ["2"], needed_models=names))
    assert items[-1][1] == "success" and "could not resolve the models" in caplog.text


def test_the_names_sent_are_the_model_files_of_the_likely_prompts_each_once_in_queue_order():
    def loader(ckpt: str, lora: str | None = None) -> dict:
        prompt = {"1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": ckpt}},
                  "2": {"class_type": "CLIPTextEncode", "inputs": {"text": "a photo.safetensors of nothing x"}}}
        if lora:
            prompt["3"] = {"class_type": "LoraLoader", "inputs": {"lora_name": lora, "strength_model": 1.0}}
        return prompt

    prompts = [loader("b.safetensors", "style.safetensors"), loader("a.ckpt"), loader("b.safetensors"), "not a prompt"]
    assert model_files_named(prompts) == ["b.safetensors", "style.safetensors", "a.ckpt"]
    assert model_files_named([]) == []
