"""/free reaches the model manager the SD nodes create (wiring between server/ and nodes/)."""

from app.runtime import Runtime
from nodes.api.model_services import SERVICE_NAME, model_services
from server.app import default_unload_models


class _Ctx:
    def __init__(self, runtime):
        self.runtime = runtime


def test_free_unloads_the_models_the_nodes_loaded(tmp_path):
    runtime = Runtime.for_directory(tmp_path)
    unload = default_unload_models(runtime)
    unload()  # nothing loaded yet: a no-op, not an error
    services = model_services(_Ctx(runtime))
    assert runtime.services[SERVICE_NAME] is services
    calls = []
    services.manager.unload_all = lambda: calls.append("unloaded")
    services.files.clear = lambda: calls.append("forgot files")
    unload()
    assert calls == ["unloaded", "forgot files"]
