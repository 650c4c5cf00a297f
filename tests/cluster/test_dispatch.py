"""The dispatcher with stand-in runners (no Ray): every prompt runs once, a lost worker's prompt moves on,
a failing prompt is reported and its worker keeps going."""

from __future__ import annotations

import threading
import time

from app.cluster.dispatch import Dispatcher
from app.cluster.routing import Candidate, choose_prompt
from app.cluster.runner import RemoteOutcome, WorkerLostError


class FakeRunner:
    def __init__(self, worker_id, lose_on=(), fail_on=()):
        self.worker_id, self.lose_on, self.fail_on, self.ran = worker_id, set(lose_on), set(fail_on), []

    def execute(self, prompt, *, prompt_id, outputs, **_):
        time.sleep(0.01)
        if prompt_id in self.lose_on:
            raise WorkerLostError(f"worker {self.worker_id} died")
        if prompt_id in self.fail_on:
            raise RuntimeError("boom")
        self.ran.append(prompt_id)
        return RemoteOutcome("success", {})


class Source:
    def __init__(self, candidates):
        self.queue, self.results, self.lost_ids = list(candidates), {}, []
        self.total, self.all_done = len(candidates), threading.Event()

    def take(self, worker, workers):
        picked = choose_prompt(worker, self.queue, workers)
        if picked is not None:
            self.queue.remove(picked)
        return picked

    def done(self, candidate, worker, outcome, seconds):
        self.results[candidate.prompt_id] = (worker.worker_id, outcome.status)
        if len(self.results) == self.total:
            self.all_done.set()

    def lost(self, candidate, worker):
        self.lost_ids.append(candidate.prompt_id)
        self.queue.insert(0, candidate)


def _prompt(i):
    return {"1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": f"{i % 2}.safetensors"}}}


def test_every_prompt_runs_once_and_a_lost_workers_prompt_finishes_elsewhere():
    runners = [FakeRunner("w0", lose_on={"p2"}), FakeRunner("w1", fail_on={"p5"})]
    source = Source([Candidate(f"p{i}", _prompt(i)) for i in range(12)])
    dispatcher = Dispatcher(runners, source, outputs_of=lambda c: ["1"])
    dispatcher.start()
    assert source.all_done.wait(10)
    dispatcher.stop()
    assert set(source.results) == {f"p{i}" for i in range(12)}
    assert source.lost_ids == ["p2"] and source.results["p2"] == ("w1", "success")
    assert source.results["p5"] == ("w1", "error")
    assert not dispatcher.workers[0].alive and dispatcher.workers[1].alive
    assert sorted(runners[0].ran + runners[1].ran) == sorted(f"p{i}" for i in range(12) if i != 5)
