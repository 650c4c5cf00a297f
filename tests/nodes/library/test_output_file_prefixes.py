"""Every node that writes files refuses a bad filename_prefix at validation, naming the input."""

import pytest

from graph.validate import validate_prompt
from nodes.build import build_registry

IMAGE = {"class_type": "EmptyImage", "inputs": {"width": 8, "height": 8, "batch_size": 1, "color": 0}}
LATENT = {"class_type": "EmptyLatentImage", "inputs": {"width": 64, "height": 64, "batch_size": 1}}
TEXT = {"class_type": "PrimitiveString", "inputs": {"value": "notes"}}
# Each saver: (its upstream node, its inputs besides the prefix).
SAVERS = {
    "SaveImage": (IMAGE, {"images": ["1", 0]}),
    "SaveAnimatedPNG": (IMAGE, {"images": ["1", 0], "fps": 6.0, "compress_level": 4}),
    "SaveAnimatedWEBP": (IMAGE, {"images": ["1", 0], "fps": 6.0, "lossless": False, "quality": 80,
                                 "method": "default"}),
    "SaveLatent": (LATENT, {"samples": ["1", 0]}),
    "SaveText": (TEXT, {"text": ["1", 0]}),
}
BAD = {"": "must not be empty", "   ": "must not be empty", "../outside": "'..'", "/etc/x": "absolute",
       "x" * 1100: "at most 1024", "a/" + "b" * 300: "at most 200"}


def check(runtime, saver: str, prefix):
    upstream, inputs = SAVERS[saver]
    prompt = {"1": upstream, "2": {"class_type": saver, "inputs": {**inputs, "filename_prefix": prefix}}}
    registry, _ = build_registry(runtime)
    return validate_prompt(prompt, registry)


@pytest.mark.parametrize("saver", sorted(SAVERS))
@pytest.mark.parametrize("prefix", sorted(BAD), ids=lambda p: repr(p[:12]))
def test_a_bad_prefix_is_a_validation_error_naming_the_input(runtime, saver, prefix):
    checked = check(runtime, saver, prefix)
    assert not checked.ok
    errors = checked.node_errors["2"]["errors"]
    assert [e["extra_info"]["input_name"] for e in errors] == ["filename_prefix"]
    assert BAD[prefix] in errors[0]["details"]


@pytest.mark.parametrize("saver", sorted(SAVERS))
@pytest.mark.parametrize("prefix", ["ComfyUI", "portraits/me", "%date:yyyy-MM-dd%/run", "dir/"])
def test_a_good_prefix_passes(runtime, saver, prefix):
    checked = check(runtime, saver, prefix)
    assert checked.ok, checked.to_json()


def test_a_linked_prefix_is_checked_when_it_runs(runtime):
    upstream, inputs = SAVERS["SaveText"]
    prompt = {"1": upstream, "3": {"class_type": "PrimitiveString", "inputs": {"value": ""}},
              "2": {"class_type": "SaveText", "inputs": {**inputs, "filename_prefix": ["3", 0]}}}
    registry, _ = build_registry(runtime)
    assert validate_prompt(prompt, registry).ok
