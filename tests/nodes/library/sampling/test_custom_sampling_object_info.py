"""The custom-sampling nodes' /object_info entries against ComfyUI's own (scripts/compare_object_info.py)."""

import json

import pytest

from scripts import compare_object_info

CUSTOM_SAMPLING_NODES = [
    "ExponentialScheduler", "PolyexponentialScheduler", "LaplaceScheduler", "VPScheduler", "SDTurboScheduler",
    "BetaSamplingScheduler", "AlignYourStepsScheduler", "GITSScheduler", "FlipSigmas", "SetFirstSigma",
    "ExtendIntermediateSigmas", "SplitSigmasDenoise", "SamplingPercentToSigma", "ManualSigmas", "RandomNoise",
    "DisableNoise", "BasicGuider", "CFGGuider", "DualCFGGuider", "SamplerCustomAdvanced", "AddNoise",
    "SamplerEulerAncestral", "SamplerEulerAncestralCFGPP", "SamplerLMS", "SamplerDPMPP_2M_SDE", "SamplerDPMPP_3M_SDE", "SamplerDPMPP_SDE",
    "SamplerDPMPP_2S_Ancestral", "SamplerDPMAdaptative", "SamplerLCMUpscale", "KSamplerSelect", "BasicScheduler", "KarrasScheduler",
    "SplitSigmas", "SamplerCustom",
]


@pytest.fixture(scope="module")
def reference() -> dict:
    path = compare_object_info.DEFAULT_REFERENCE
    if not path.is_file():
        pytest.skip(f"no reference /object_info at {path}")
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def ours() -> dict:
    return compare_object_info.our_object_info()


@pytest.mark.parametrize("node", CUSTOM_SAMPLING_NODES)
def test_custom_sampling_node_matches_comfyui_object_info(reference, ours, node):
    assert node in ours, f"{node} is not registered"
    assert compare_object_info.node_differences(node, ours[node], reference[node]) == []


def test_custom_sampling_comparison_sees_a_difference(reference, ours):
    changed = json.loads(json.dumps(ours["DualCFGGuider"]))
    changed["input"]["required"]["style"] = [["regular"]]
    assert compare_object_info.node_differences("DualCFGGuider", changed, reference["DualCFGGuider"]) != []
