"""The mask-compositing inpaint example keeps every pixel outside the (grown) hole exactly as it was."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.workflows.test_workflows import OVERRIDES, WORKFLOWS, run_workflow


@pytest.mark.slow
def test_only_the_hole_is_repainted(workflow_base, tmp_path):
    result = run_workflow(WORKFLOWS / "mask_composite_inpaint_api.json", workflow_base, tmp_path / "out",
                          OVERRIDES["mask_composite_inpaint"])
    assert result.returncode == 0, result.stderr[-3000:]
    saved = [Path(line) for line in result.stdout.splitlines() if line.endswith(".png")]
    out = np.asarray(Image.open(saved[-1]).convert("RGB"), dtype=np.int16)
    original = np.asarray(Image.open(workflow_base / "input" / "inpaint_example.png").convert("RGB"), dtype=np.int16)
    outside = np.ones(out.shape[:2], dtype=bool)
    outside[12:52, 12:52] = False  # the 16..48 hole grown by 4
    assert np.array_equal(out[outside], original[outside])
    assert np.abs(out[20:44, 20:44] - original[20:44, 20:44]).mean() > 1  # the hole itself was repainted
