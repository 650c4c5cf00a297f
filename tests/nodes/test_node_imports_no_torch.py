"""Commands that run no model import no torch: building the registry, /object_info and validating a prompt.

Node modules name torch and the diffusion engine through `nodes.api.lazy.lazy_import`, so the
import happens when a node runs. The first test runs in a fresh interpreter (this one has
torch loaded by other tests); the others test the lazy proxy itself.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from nodes.api.lazy import lazy_import

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / "workflows" / "txt2img_sd15_api.json"

NO_MODEL_RUN = """
import json, sys
from pathlib import Path

from graph.validate import validate_prompt
from nodes.api.runtime import NodeRuntime
from nodes.build import build_registry

runtime = NodeRuntime.for_directory(Path(sys.argv[1]))
registry, report = build_registry(runtime)
info = registry.object_info()
result = validate_prompt(json.loads(Path(sys.argv[2]).read_text(encoding="utf-8")), registry)
print(json.dumps({"nodes": len(info), "broken_packs": len(report.failed), "ok": result.ok,
                  "node_errors": result.node_errors, "error": result.error,
                  "imported": [name for name in ("torch", "numpy", "PIL") if name in sys.modules]}))
"""


def test_registry_object_info_and_validation_import_no_torch(tmp_path):
    checkpoints = tmp_path / "models" / "checkpoints"
    checkpoints.mkdir(parents=True)
    (checkpoints / "sd15.safetensors").write_bytes(b"")  # validation lists the folder; nothing loads it
    done = subprocess.run([sys.executable, "-c", NO_MODEL_RUN, str(tmp_path), str(WORKFLOW)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["nodes"] > 50 and seen["broken_packs"] == 0
    assert seen["ok"] and not seen["node_errors"], seen  # the whole prompt was checked, and passed
    assert "torch" not in seen["imported"], "building the registry or validating imported torch"
    assert seen["imported"] == [], f"numpy / PIL imported without a node running: {seen['imported']}"


@pytest.fixture
def probe_module(tmp_path, monkeypatch):
    """A module `lazy_probe` on sys.path whose body counts its runs in a file next to it (and takes a while)."""
    runs = tmp_path / "lazy_probe.runs"
    (tmp_path / "lazy_probe.py").write_text(
        "import time\nfrom pathlib import Path\n"
        f"with open({str(runs)!r}, 'a') as f:\n    f.write('run\\n')\n"
        "time.sleep(0.2)\nVALUE = 42\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "lazy_probe", raising=False)
    yield lambda: runs.read_text().count("run") if runs.exists() else 0
    sys.modules.pop("lazy_probe", None)


def test_lazy_import_imports_on_first_attribute_access_only_once(probe_module):
    probe = lazy_import("lazy_probe")
    assert probe_module() == 0 and "lazy_probe" not in sys.modules
    assert "not imported yet" in repr(probe) and "'lazy_probe'" in repr(probe)
    assert probe.VALUE == 42
    assert probe_module() == 1 and sys.modules["lazy_probe"].VALUE == 42
    del sys.modules["lazy_probe"]  # a second look-up must not import again
    assert probe.VALUE == 42 and probe_module() == 1
    assert "(imported)" in repr(probe) and "VALUE" in dir(probe)


def test_lazy_import_from_many_threads_runs_the_module_once(probe_module):
    probe = lazy_import("lazy_probe")
    values: list[int] = []
    threads = [threading.Thread(target=lambda: values.append(probe.VALUE)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert values == [42] * 8 and probe_module() == 1


def test_lazy_module_forwards_setting_and_deleting_attributes(probe_module):
    probe = lazy_import("lazy_probe")
    probe.EXTRA = "set through the proxy"
    assert sys.modules["lazy_probe"].EXTRA == "set through the proxy"
    del probe.EXTRA
    assert not hasattr(sys.modules["lazy_probe"], "EXTRA")
    with pytest.raises(AttributeError, match="MISSING"):
        _ = probe.MISSING


def test_unknown_module_fails_on_first_use_naming_it():
    missing = lazy_import("no_such_module_for_lazy_import")  # nothing is looked up yet
    with pytest.raises(ModuleNotFoundError, match="no_such_module_for_lazy_import") as raised:
        _ = missing.anything
    assert raised.value.name == "no_such_module_for_lazy_import"
    with pytest.raises(ModuleNotFoundError):  # a failed import is not remembered as a module
        _ = missing.anything


def test_lazy_import_needs_a_name():
    with pytest.raises(ValueError, match="dotted module name"):
        lazy_import("")
