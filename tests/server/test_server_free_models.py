"""/free reaches the model manager the SD nodes create (wiring between server/ and nodes/)."""

import time

from nodes.api.runtime import NodeRuntime


def test_free_unloads_the_models_the_nodes_loaded(make_live, tmp_path):
    runtime = NodeRuntime.for_directory(tmp_path)
    assert runtime.unload_models() is False  # nothing loaded yet: a no-op, not an error
    live = make_live(runtime=runtime)
    services = runtime.models
    calls = []
    services.manager.unload_all = lambda: calls.append("unloaded")
    services.files.clear = lambda: calls.append("forgot files")
    assert live.json("POST", "/free", {"unload_models": True})[0] == 200
    deadline = time.monotonic() + 5
    while len(calls) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert calls == ["unloaded", "forgot files"]
