"""The model patch nodes' /object_info entries against ComfyUI's own (scripts/compare_object_info.py)."""

import json

import pytest

from scripts import compare_object_info

MODEL_PATCH_NODES = ["RescaleCFG", "CFGZeroStar", "CFGNorm", "ModelSamplingDiscrete", "ModelSamplingContinuousEDM",
                     "ModelSamplingContinuousV", "FreeU", "FreeU_V2", "PerturbedAttentionGuidance",
                     "SelfAttentionGuidance"]


@pytest.fixture(scope="module")
def reference() -> dict:
    path = compare_object_info.DEFAULT_REFERENCE
    if not path.is_file():
        pytest.skip(f"no reference /object_info at {path}")
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def ours() -> dict:
    return compare_object_info.our_object_info()


@pytest.mark.parametrize("node", MODEL_PATCH_NODES)
def test_model_patch_node_matches_comfyui_object_info(reference, ours, node):
    assert node in ours, f"{node} is not registered"
    assert compare_object_info.node_differences(node, ours[node], reference[node]) == []
