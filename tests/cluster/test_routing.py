"""Routing prompts to workers: model affinity, the cached prefix of a client, the load, and no starvation."""

from __future__ import annotations

import random

from app.cluster.routing import (
    Candidate,
    WorkerState,
    choose_prompt,
    choose_worker,
    likely_next,
    models_of,
    prefix_signature,
)


def _prompt(ckpt: str, text: str = "a cat", seed: int = 0, lora: str | None = None) -> dict:
    prompt = {"1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": ckpt}},
              "2": {"class_type": "CLIPTextEncode", "inputs": {"text": text, "clip": ["1", 1]}},
              "3": {"class_type": "KSampler", "inputs": {"seed": seed, "model": ["1", 0]}}}
    if lora:
        prompt["4"] = {"class_type": "LoraLoader", "inputs": {"lora_name": lora, "model": ["1", 0]}}
    return prompt


def test_models_of_a_prompt_are_its_loader_files():
    assert models_of(_prompt("a.safetensors", lora="x.safetensors")) == {"ckpt_name:a.safetensors",
                                                                        "lora_name:x.safetensors"}
    assert models_of({"1": {"class_type": "DualCLIPLoader", "inputs": {"clip_name1": "l", "clip_name2": "g"}}}) == {
        "clip_name:l", "clip_name:g"}
    assert models_of({"1": "not a node", "2": {"inputs": {"ckpt_name": ["5", 0]}}}) == frozenset()


def test_the_prefix_ignores_the_seed_but_not_the_text():
    assert prefix_signature(_prompt("a", seed=1)) == prefix_signature(_prompt("a", seed=2))
    assert prefix_signature(_prompt("a", "a cat")) != prefix_signature(_prompt("a", "a dog"))


def test_a_free_worker_holding_the_checkpoint_wins_over_a_less_loaded_one():
    w0, w1 = WorkerState("w0", completed=9), WorkerState("w1")
    w0.resident.add("ckpt_name:a")
    assert choose_worker(_prompt("a"), None, [w0, w1]) is w0
    assert choose_worker(_prompt("b"), None, [w0, w1]) is w1  # nobody holds b: the least loaded


def test_the_same_client_and_prefix_goes_back_to_its_worker():
    w0, w1 = WorkerState("w0"), WorkerState("w1")
    for w in (w0, w1):
        w.resident.add("ckpt_name:a")
    w1.started(_prompt("a", "a dog"), "client-1")
    w1.finished()
    assert choose_worker(_prompt("a", "a dog", seed=5), "client-1", [w0, w1]) is w1
    assert choose_worker(_prompt("a", "a dog", seed=5), "client-2", [w0, w1]) is w0


def test_busy_and_dead_workers_are_never_chosen():
    w0, w1 = WorkerState("w0", busy=True), WorkerState("w1", alive=False)
    assert choose_worker(_prompt("a"), None, [w0, w1]) is None


def test_a_free_worker_takes_the_oldest_prompt_for_its_model_within_the_lookahead():
    w0, w1 = WorkerState("w0", resident={"ckpt_name:a"}), WorkerState("w1", resident={"ckpt_name:b"}, busy=True)
    queue = [Candidate("p1", _prompt("b")), Candidate("p2", _prompt("a")), Candidate("p3", _prompt("a"))]
    assert choose_prompt(w0, queue, [w0, w1]).prompt_id == "p2"
    assert choose_prompt(w0, queue, [w0, w1], lookahead=1).prompt_id == "p1"  # beyond it: first in, first out
    fresh = WorkerState("w2")
    mixed = [Candidate("p1", _prompt("b")), Candidate("p2", _prompt("c"))]
    assert choose_prompt(fresh, mixed, [w0, w1, fresh]).prompt_id == "p2"  # b has its own worker
    assert choose_prompt(fresh, [], [fresh]) is None


def test_alternating_checkpoints_land_on_their_workers():
    """Two checkpoints alternating over two workers that finish in random order: nearly every prompt hits."""
    rng = random.Random(0)
    workers = [WorkerState("w0"), WorkerState("w1")]
    queue = [Candidate(f"p{i}", _prompt("a" if i % 2 else "b", seed=i)) for i in range(400)]
    hits = total = 0
    running: list[tuple[WorkerState, Candidate]] = []
    while queue or running:
        for worker in [w for w in workers if not w.busy]:
            picked = choose_prompt(worker, queue, workers)
            if picked is None:
                break
            queue.remove(picked)
            if worker.resident:
                total += 1
                hits += models_of(picked.prompt) <= worker.resident
            worker.started(picked.prompt, None)
            running.append((worker, picked))
        done = running.pop(rng.randrange(len(running)))
        done[0].finished()
    assert total > 350 and hits / total >= 0.95


def test_the_prompts_likely_next_on_a_worker_are_its_own_and_the_unclaimed_ones():
    """What the coordinator tells a worker's model manager to keep: the queued prompts routing would give it."""
    w0, w1 = WorkerState("w0", resident={"ckpt_name:a"}), WorkerState("w1", resident={"ckpt_name:b"}, busy=True)
    queue = [Candidate("p1", _prompt("b")), Candidate("p2", _prompt("a")), Candidate("p3", _prompt("c")),
             Candidate("p4", _prompt("a", lora="x"))]
    ids = [c.prompt_id for c in likely_next(w0, queue, [w0, w1])]
    assert ids == ["p2", "p3", "p4"]  # p1's checkpoint is on w1 (busy: it takes p1 when free); c is nobody's
    assert [c.prompt_id for c in likely_next(w1, queue, [w0, w1])] == ["p1", "p3", "p4"]
    assert [c.prompt_id for c in likely_next(w0, queue, [w0, w1], lookahead=2)] == ["p2"]
    dead = WorkerState("w1", resident={"ckpt_name:b"}, alive=False)
    assert [c.prompt_id for c in likely_next(w0, queue, [w0, dead])] == ["p1", "p2", "p3", "p4"]  # no live holder
    assert likely_next(w0, [], [w0, w1]) == []
