"""ModelMerge* and CLIPMerge* on tiny checkpoints: closed forms, block prefixes, inputs unchanged, bad input."""

# The fixtures imported from sd_fixtures are used as test arguments (pytest's by-name injection).
# ruff: noqa: F811

from __future__ import annotations

import pytest
import torch

from nodes.library.model_merging.block_merges import ModelMergeSD1, ModelMergeSDXL, sd_block_names
from nodes.library.model_merging.merge_nodes import (
    CLIPMergeAdd,
    CLIPMergeSimple,
    CLIPMergeSubtract,
    ModelMergeAdd,
    ModelMergeBlocks,
    ModelMergeSimple,
    ModelMergeSubtract,
)
from tests.nodes.sd_fakes import values
from tests.nodes.sd_fixtures import tiny_files, tiny_models  # noqa: F401


@pytest.fixture(scope="module")
def second_models(tmp_path_factory):
    """family -> LoadedCheckpoint of tiny checkpoints with other random weights (seed 8)."""
    from diffusion.checkpoints.loader import load_checkpoint
    from diffusion.checkpoints.make_checkpoint import write_checkpoint

    folder = tmp_path_factory.mktemp("second_models")
    out = {}
    for family in ("sd15", "sdxl"):
        path = folder / f"{family}.safetensors"
        write_checkpoint(path, family, "tiny", seed=8, dtype=torch.float32)
        out[family] = load_checkpoint(path, dtype=torch.float32)
    return out


def weights(patcher) -> dict[str, torch.Tensor]:
    """The weights as the handle runs them (patches applied), copied."""
    with patcher.patched() as module:
        return {k: v.detach().clone() for k, v in module.named_parameters()}


def run(node, make_ctx, **inputs):
    (out,) = values(node, make_ctx(), **inputs)
    return out


def test_merge_simple_is_the_weighted_sum_and_leaves_inputs_unchanged(make_ctx, tiny_models, second_models):
    m1, m2 = tiny_models["sd15"].model, second_models["sd15"].model
    w1, w2 = weights(m1), weights(m2)
    merged = run(ModelMergeSimple, make_ctx, model1=m1, model2=m2, ratio=0.3)
    got = weights(merged)
    for name in w1:
        torch.testing.assert_close(got[name], 0.3 * w1[name] + 0.7 * w2[name], rtol=1e-5, atol=1e-6)
    assert merged is not m1 and not m1.patches and not m2.patches
    for name, tensor in weights(m1).items():
        assert torch.equal(tensor, w1[name])
    for name, tensor in weights(m2).items():
        assert torch.equal(tensor, w2[name])


def test_merge_simple_at_one_is_model1_and_at_zero_is_model2(make_ctx, tiny_models, second_models):
    m1, m2 = tiny_models["sd15"].model, second_models["sd15"].model
    w1, w2 = weights(m1), weights(m2)
    at_one = weights(run(ModelMergeSimple, make_ctx, model1=m1, model2=m2, ratio=1.0))
    at_zero = weights(run(ModelMergeSimple, make_ctx, model1=m1, model2=m2, ratio=0.0))
    assert all(torch.equal(at_one[n], w1[n]) for n in w1)
    for name in w2:
        torch.testing.assert_close(at_zero[name], w2[name], rtol=0, atol=1e-6)
    assert any(not torch.equal(w1[n], w2[n]) for n in w1)


def test_merge_uses_the_patched_weights_of_both_inputs(make_ctx, tiny_models, second_models):
    m1 = tiny_models["sd15"].model.clone()
    name = "out.2.weight"
    m1.add_patches({name: ("diff", (torch.ones_like(m1.model.get_parameter(name)),))}, 1.0)
    m2 = second_models["sd15"].model
    got = weights(run(ModelMergeSimple, make_ctx, model1=m1, model2=m2, ratio=0.5))
    torch.testing.assert_close(got[name], 0.5 * weights(m1)[name] + 0.5 * weights(m2)[name])


def test_add_and_subtract_closed_forms(make_ctx, tiny_models, second_models):
    m1, m2 = tiny_models["sd15"].model, second_models["sd15"].model
    w1, w2 = weights(m1), weights(m2)
    added = weights(run(ModelMergeAdd, make_ctx, model1=m1, model2=m2))
    subtracted = weights(run(ModelMergeSubtract, make_ctx, model1=m1, model2=m2, multiplier=2.5))
    for name in w1:
        torch.testing.assert_close(added[name], w1[name] + w2[name], rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(subtracted[name], 2.5 * (w1[name] - w2[name]), rtol=1e-5, atol=1e-5)


def _ratio_by_prefix(got, w1, w2, expected_ratio):
    for name in w1:
        r = expected_ratio(name)
        torch.testing.assert_close(got[name], r * w1[name] + (1 - r) * w2[name], rtol=1e-5, atol=1e-6,
                                   msg=lambda m, n=name: f"{n}: {m}")


def test_merge_blocks_weights_only_their_prefixes(make_ctx, tiny_models, second_models):
    m1, m2 = tiny_models["sd15"].model, second_models["sd15"].model
    got = weights(run(ModelMergeBlocks, make_ctx, model1=m1, model2=m2, input=0.25, middle=1.0, out=0.0))

    def expected(name):  # "out" also matches output_blocks; unmatched keys take the first ratio (input)
        if name.startswith("middle"):
            return 1.0
        return 0.0 if name.startswith("out") else 0.25
    _ratio_by_prefix(got, weights(m1), weights(m2), expected)


def test_sd1_block_merge_uses_the_longest_prefix(make_ctx, tiny_models, second_models):
    m1, m2 = tiny_models["sd15"].model, second_models["sd15"].model
    ratios = dict.fromkeys(sd_block_names(12, 12, "."), 1.0)
    ratios.update({"input_blocks.1.": 0.0, "time_embed.": 0.5, "out.": 0.2})
    got = weights(run(ModelMergeSD1, make_ctx, model1=m1, model2=m2, **ratios))

    def expected(name):
        return next((ratios[p] for p in sorted(ratios, key=len, reverse=True) if name.startswith(p)), 0.5)
    _ratio_by_prefix(got, weights(m1), weights(m2), expected)
    assert any(n.startswith("input_blocks.1.") for n in got)


def test_sdxl_block_merge(make_ctx, tiny_models, second_models):
    m1, m2 = tiny_models["sdxl"].model, second_models["sdxl"].model
    ratios = dict.fromkeys(sd_block_names(9, 9, ""), 1.0)
    ratios.update({"label_emb.": 0.0, "output_blocks.2": 0.4})
    got = weights(run(ModelMergeSDXL, make_ctx, model1=m1, model2=m2, **ratios))

    def expected(name):
        return 0.0 if name.startswith("label_emb.") else 0.4 if name.startswith("output_blocks.2") else 1.0
    _ratio_by_prefix(got, weights(m1), weights(m2), expected)


def test_models_of_different_families_are_refused(make_ctx, tiny_models):
    with pytest.raises(ValueError, match="ModelMergeSimple: .*sd15.*sdxl"):
        run(ModelMergeSimple, make_ctx, model1=tiny_models["sd15"].model, model2=tiny_models["sdxl"].model,
            ratio=0.5)


def test_models_with_different_shapes_are_refused(make_ctx, tiny_models):
    with pytest.raises(ValueError, match="ModelMergeAdd: .*sd15.*sd21-v"):
        run(ModelMergeAdd, make_ctx, model1=tiny_models["sd15"].model, model2=tiny_models["sd21-v"].model)
    unknown = tiny_models["sd21-v"].model.clone()
    unknown.model_info = None  # no family to compare: the weight shapes still tell
    with pytest.raises(ValueError, match=r"ModelMergeSubtract: .*weight \S+ has shape"):
        run(ModelMergeSubtract, make_ctx, model1=tiny_models["sd15"].model, model2=unknown, multiplier=1.0)


def clip_weights(clip) -> dict[str, torch.Tensor]:
    return {f"{n}:{k}": v for n, p in clip.encoders.items() for k, v in weights(p).items()}


def test_clip_merges_closed_forms_and_inputs_unchanged(make_ctx, tiny_models, second_models):
    c1, c2 = tiny_models["sdxl"].clip, second_models["sdxl"].clip
    w1, w2 = clip_weights(c1), clip_weights(c2)
    simple = clip_weights(run(CLIPMergeSimple, make_ctx, clip1=c1, clip2=c2, ratio=0.6))
    added = clip_weights(run(CLIPMergeAdd, make_ctx, clip1=c1, clip2=c2))
    subtracted = clip_weights(run(CLIPMergeSubtract, make_ctx, clip1=c1, clip2=c2, multiplier=-1.5))
    assert {k.split(":")[0] for k in w1} == {"l", "g"}
    for key in w1:
        torch.testing.assert_close(simple[key], 0.6 * w1[key] + 0.4 * w2[key], rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(added[key], w1[key] + w2[key], rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(subtracted[key], -1.5 * (w1[key] - w2[key]), rtol=1e-5, atol=1e-5)
    assert all(torch.equal(v, w1[k]) for k, v in clip_weights(c1).items())
    assert all(not p.patches for p in c1.patchers() + c2.patchers())


def test_clip_merge_keeps_clip_skip_and_refuses_other_families(make_ctx, tiny_models):
    c1 = tiny_models["sd15"].clip.clone()
    c1.set_clip_skip(-2)
    merged = run(CLIPMergeSimple, make_ctx, clip1=c1, clip2=tiny_models["sd15"].clip, ratio=0.5)
    assert merged.clip_skip == -2 and merged is not c1
    with pytest.raises(ValueError, match="CLIPMergeAdd: cannot merge"):
        run(CLIPMergeAdd, make_ctx, clip1=tiny_models["sd15"].clip, clip2=tiny_models["sdxl"].clip)
