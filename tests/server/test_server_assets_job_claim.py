"""A prompt's output files get their job_id in the assets index when the prompt ends (the worker's
on_outputs hook, server/assets_jobs.OutputsClaimer), without anyone listing the assets first; the lazy
claim of a listing stays as the fallback for history the hook never saw."""

from __future__ import annotations

from server_harness import simple_prompt

from server.assets_store import ListQuery, store_for
from server.worker import Worker


def save_prompt(value: int, prefix: str = "stub") -> dict:
    return {"1": {"class_type": "Const", "inputs": {"value": value}},
            "2": {"class_type": "SaveImage", "inputs": {"value": ["1", 0], "filename_prefix": prefix}}}


def output_rows(live) -> dict[str, str | None]:
    """File name -> job_id of the output assets, read from the index itself (no route, so no lazy claim)."""
    assert live.state.worker.on_outputs.wait_idle(20)
    assets, _, _ = store_for(live.state.folders).list(ListQuery(include_tags=["output"], limit=100))
    return {asset.name: asset.job_id for asset in assets}


def replace_worker(live, **kw) -> Worker:
    state = live.state
    state.worker.stop()
    state.worker = Worker(state.store, live.executor, registry=live.registry, publisher=state.hub, **kw)
    state.worker.start()
    return state.worker


def test_a_saved_image_has_its_job_id_without_any_listing(live):
    prompt_id = live.queue_prompt(save_prompt(5))["prompt_id"]
    image = live.wait_done(prompt_id)["outputs"]["2"]["images"][0]
    assert output_rows(live) == {image["filename"]: prompt_id}


def test_two_prompts_each_claim_their_own_file(live):
    first = live.queue_prompt(save_prompt(1, "first"))["prompt_id"]
    second = live.queue_prompt(save_prompt(2, "second"))["prompt_id"]
    names = {pid: live.wait_done(pid)["outputs"]["2"]["images"][0]["filename"] for pid in (first, second)}
    assert names[first] != names[second]
    assert output_rows(live) == {names[first]: first, names[second]: second}


def test_a_prompt_that_failed_after_saving_claims_what_it_saved(live):
    prompt = {**save_prompt(7, "partial"),
              "3": {"class_type": "Fail", "inputs": {"value": ["1", 0]}},
              "4": {"class_type": "Show", "inputs": {"value": ["3", 0]}}}
    prompt_id = live.queue_prompt(prompt)["prompt_id"]
    entry = live.wait_done(prompt_id)
    assert entry["status"]["status_str"] == "error"
    (image,) = entry["outputs"]["2"]["images"]
    assert output_rows(live) == {image["filename"]: prompt_id}


def test_a_failing_outputs_hook_never_stops_the_next_prompt(live):
    calls = []

    def broken(prompt_id: str, entry: dict) -> None:
        calls.append(prompt_id)
        raise RuntimeError("index unavailable")

    replace_worker(live, on_outputs=broken)
    first = live.queue_prompt(save_prompt(3))["prompt_id"]
    second = live.queue_prompt(simple_prompt(4))["prompt_id"]
    assert live.wait_done(first)["status"]["status_str"] == "success"
    assert live.wait_done(second)["status"]["status_str"] == "success"
    assert calls == [first, second]  # told of every entry with outputs, the failure swallowed
    live.state.worker.stop()


def test_history_the_hook_never_saw_is_claimed_by_the_next_listing(live):
    claimer = live.state.worker.on_outputs
    replace_worker(live)  # no hook: as history written before the index existed
    prompt_id = live.queue_prompt(save_prompt(9, "before"))["prompt_id"]
    name = live.wait_done(prompt_id)["outputs"]["2"]["images"][0]["filename"]
    assert store_for(live.state.folders).list(ListQuery(include_tags=["output"]))[0] == []
    status, body = live.json("GET", "/api/assets?include_tags=output")
    assert status == 200 and [(a["name"], a["job_id"]) for a in body["assets"]] == [(name, prompt_id)]
    assert claimer.claim_now(prompt_id, live.state.store.history(max_items=1)[prompt_id]) == 0  # claimed once
    live.state.worker.stop()


class _FlakyRuntime:
    """A ServerRuntime whose folders fail the first time they are asked for."""

    def __init__(self, root) -> None:
        from server_stub_nodes import StubFolders

        self._folders, self.asked = StubFolders(root), 0

    @property
    def folders(self):
        self.asked += 1
        if self.asked == 1:
            raise RuntimeError("index not there yet")
        return self._folders


def test_the_claimer_survives_a_failed_claim_and_its_thread_ends_when_idle(tmp_path):
    from PIL import Image

    from server.assets_jobs import OutputsClaimer

    runtime = _FlakyRuntime(tmp_path)
    Image.new("RGB", (4, 4)).save(tmp_path / "output" / "a.png")
    claimer = OutputsClaimer(runtime)
    claimer.IDLE_SECONDS = 0.05
    entry = {"outputs": {"9": {"images": [{"filename": "a.png", "subfolder": "", "type": "output"}]}}}
    claimer("lost", entry)  # raises inside the claimer's thread: logged
    claimer("kept", entry)
    assert claimer.wait_idle(20)
    assets, _, _ = store_for(runtime.folders).list(ListQuery(include_tags=["output"]))
    assert [(a.name, a.job_id) for a in assets] == [("a.png", "kept")]
    thread = claimer._thread
    if thread is not None:
        thread.join(20)
    assert claimer._thread is None  # idle: the thread ended, and the next claim starts a new one
