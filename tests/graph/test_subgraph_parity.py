"""The editor's subgraph flattening (web/src/workflow/subgraphFlatten.ts) against graph/ui_to_api.py.

web/src/workflow/__fixtures__/subgraph_parity.json holds UI workflows with subgraph instances
(nested, bypassed, muted, promoted values, an input wired straight to an output) and the API
prompt the editor builds for each; its Vitest test checks the TypeScript side, this the Python side.
"""

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from ui_stub_registry import StubRegistry  # noqa: E402

from graph.ui_to_api import ui_to_api  # noqa: E402

PARITY = Path(__file__).parents[2] / "web" / "src" / "workflow" / "__fixtures__" / "subgraph_parity.json"
CASES = json.loads(PARITY.read_text())["cases"]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_python_flattens_like_the_editor(case):
    assert ui_to_api(case["workflow"], StubRegistry()) == case["prompt"]
