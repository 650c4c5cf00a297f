"""The graph layer stays pure: importing it loads no torch, aiohttp, nodes, server, diffusion, app or folders."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = ("torch", "aiohttp", "nodes", "server", "diffusion", "app", "folders")


def test_graph_modules_import_nothing_heavy():
    modules = sorted(f"graph.{p.stem}" for p in (ROOT / "graph").glob("*.py") if p.stem != "__init__")
    assert "graph.executor" in modules and "graph.validate" in modules
    code = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r})\n"
        "print(json.dumps(bad))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
