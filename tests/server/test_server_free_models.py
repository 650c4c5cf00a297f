"""/free reaches the model manager the SD nodes create (wiring between server/ and nodes/)."""

from nodes.api.runtime import NodeRuntime
from server.app import default_unload_models


def test_free_unloads_the_models_the_nodes_loaded(tmp_path):
    runtime = NodeRuntime.for_directory(tmp_path)
    unload = default_unload_models(runtime)
    unload()  # nothing loaded yet: a no-op, not an error
    services = runtime.models
    calls = []
    services.manager.unload_all = lambda: calls.append("unloaded")
    services.files.clear = lambda: calls.append("forgot files")
    unload()
    assert calls == ["unloaded", "forgot files"]
