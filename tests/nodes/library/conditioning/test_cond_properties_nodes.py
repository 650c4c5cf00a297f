"""The hooks-family conditioning nodes: timesteps ranges, Set Props (and Combine), pairs, refusals, and what the
sampler's conditioning preparation makes of their output."""

import pytest
import torch

from diffusion.sampling.conds import prepare_conditioning
from diffusion.sampling.discrete import DiscreteSchedule
from nodes.api.declare import DeclaredNodeType
from nodes.library.conditioning.cond_properties import (
    ConditioningSetDefaultCombine,
    ConditioningSetProperties,
    ConditioningSetPropertiesAndCombine,
    ConditioningTimestepsRange,
    PairConditioningCombine,
    PairConditioningSetDefaultCombine,
    PairConditioningSetProperties,
    PairConditioningSetPropertiesAndCombine,
)
from tests.nodes.sd_fakes import conditioning, same_conditioning, snapshot, values


@pytest.fixture
def ctx(make_ctx):
    return make_ctx()


def test_timesteps_range_gives_the_range_and_what_lies_before_and_after(ctx):
    assert values(ConditioningTimestepsRange, ctx, start_percent=0.25, end_percent=0.75) == (
        (0.25, 0.75), (0.0, 0.25), (0.75, 1.0))
    with pytest.raises(ValueError, match="ConditioningTimestepsRange: input 'end_percent' must be a number in 0..1"):
        values(ConditioningTimestepsRange, ctx, start_percent=0.0, end_percent=1.5)


def test_set_props_with_mask_and_timesteps_sets_comfyui_keys(ctx):
    cond = conditioning(seed=1)
    before = snapshot(cond)
    mask = torch.ones(8, 8)
    (out,) = values(ConditioningSetProperties, ctx, cond_NEW=cond, strength=0.5, set_cond_area="mask bounds",
                    mask=mask, timesteps=(0.2, 0.6))
    options = out[0][1]
    assert options["mask"].shape == (1, 8, 8) and options["set_area_to_bounds"] is True
    assert options["mask_strength"] == 0.5 and "strength" not in options
    assert (options["start_percent"], options["end_percent"]) == (0.2, 0.6)
    assert out[0][0] is cond[0][0] and same_conditioning(cond, before)


def test_set_props_without_mask_or_timesteps_changes_nothing_but_copies(ctx):
    cond = conditioning(seed=1)
    (out,) = values(ConditioningSetProperties, ctx, cond_NEW=cond, strength=3.0, set_cond_area="default")
    assert out[0][1] == cond[0][1] and out[0][1] is not cond[0][1]


def test_the_sampler_reads_the_timesteps_range_as_a_sigma_window(ctx):
    (span, _, _) = values(ConditioningTimestepsRange, ctx, start_percent=0.0, end_percent=0.5)
    (out,) = values(ConditioningSetProperties, ctx, cond_NEW=conditioning(dim=8, tokens=2), strength=1.0,
                    set_cond_area="default", timesteps=span)
    schedule = DiscreteSchedule()
    (prepared,) = prepare_conditioning(out, which="positive", latent_shape=(1, 4, 8, 8), schedule=schedule)
    assert prepared.sigma_start == pytest.approx(schedule.percent_to_sigma(0.0))
    assert prepared.sigma_end == pytest.approx(schedule.percent_to_sigma(0.5))
    assert prepared.active_at(float(schedule.sigma_max)) and not prepared.active_at(float(schedule.sigma_min))


def test_set_props_and_combine_appends_the_new_entries(ctx):
    base, new = conditioning(seed=1), conditioning(seed=2) + conditioning(seed=3)
    mask = torch.zeros(1, 4, 4)
    (out,) = values(ConditioningSetPropertiesAndCombine, ctx, cond=base, cond_NEW=new, strength=2.0,
                    set_cond_area="default", mask=mask)
    assert len(out) == 3 and out[0][1] == base[0][1]
    assert out[1][0] is new[0][0] and out[2][0] is new[1][0]
    assert all(entry[1]["mask"] is mask and entry[1]["mask_strength"] == 2.0 for entry in out[1:])
    assert all(entry[1]["set_area_to_bounds"] is False for entry in out[1:])


def test_pair_nodes_treat_positive_and_negative_alike(ctx):
    pos, neg = conditioning(seed=1), conditioning(seed=2)
    pos_new, neg_new = conditioning(seed=3), conditioning(seed=4)
    p, n = values(PairConditioningSetProperties, ctx, positive_NEW=pos_new, negative_NEW=neg_new, strength=1.0,
                  set_cond_area="default", timesteps=(0.1, 0.9))
    assert p[0][1]["start_percent"] == n[0][1]["start_percent"] == 0.1 and p[0][0] is pos_new[0][0]
    p, n = values(PairConditioningSetPropertiesAndCombine, ctx, positive=pos, negative=neg, positive_NEW=pos_new,
                  negative_NEW=neg_new, strength=1.0, set_cond_area="default", timesteps=(0.1, 0.9))
    assert [e[0] for e in p] == [pos[0][0], pos_new[0][0]] and [e[0] for e in n] == [neg[0][0], neg_new[0][0]]
    assert "start_percent" not in p[0][1] and n[1][1]["end_percent"] == 0.9
    p, n = values(PairConditioningCombine, ctx, positive_A=pos, negative_A=neg, positive_B=pos_new,
                  negative_B=neg_new)
    assert [e[0] for e in p] == [pos[0][0], pos_new[0][0]] and [e[0] for e in n] == [neg[0][0], neg_new[0][0]]


def test_hooks_are_refused_not_ignored(ctx):
    with pytest.raises(ValueError, match="ConditioningSetProperties: input 'hooks': hooks have no effect"):
        values(ConditioningSetProperties, ctx, cond_NEW=conditioning(), strength=1.0, set_cond_area="default",
               hooks=object())
    with pytest.raises(ValueError, match="PairConditioningSetPropertiesAndCombine: input 'hooks'"):
        values(PairConditioningSetPropertiesAndCombine, ctx, positive=conditioning(), negative=conditioning(),
               positive_NEW=conditioning(), negative_NEW=conditioning(), strength=1.0, set_cond_area="default",
               hooks=object())


def test_default_combine_is_refused_at_validation_and_at_run(ctx):
    for node, name in ((ConditioningSetDefaultCombine, "cond_DEFAULT"),
                       (PairConditioningSetDefaultCombine, "positive_DEFAULT")):
        problems = DeclaredNodeType(node).validate({}, None)
        assert problems and problems[0][0] == name and "no default conditioning" in problems[0][1]
    with pytest.raises(ValueError, match="ConditioningSetDefaultCombine: input 'cond_DEFAULT'"):
        values(ConditioningSetDefaultCombine, ctx, cond=conditioning(), cond_DEFAULT=conditioning())


def test_bad_inputs_name_the_node_and_input(ctx):
    good = dict(cond_NEW=conditioning(), strength=1.0, set_cond_area="default")
    with pytest.raises(ValueError, match="ConditioningSetProperties: input 'timesteps' must be a TIMESTEPS_RANGE"):
        values(ConditioningSetProperties, ctx, **good, timesteps=0.5)
    with pytest.raises(ValueError, match=r"input 'timesteps' \(0.5, 2.0\) must lie in 0..1"):
        values(ConditioningSetProperties, ctx, **good, timesteps=(0.5, 2.0))
    with pytest.raises(ValueError, match="input 'mask' must be a MASK"):
        values(ConditioningSetProperties, ctx, **good, mask=torch.ones(1, 1, 4, 4))
    with pytest.raises(ValueError, match="input 'strength' must be a number in 0..10"):
        values(ConditioningSetProperties, ctx, **{**good, "strength": 11.0}, mask=torch.ones(4, 4))
    with pytest.raises(TypeError, match="PairConditioningCombine: input 'negative_B' must be a CONDITIONING"):
        values(PairConditioningCombine, ctx, positive_A=[], negative_A=[], positive_B=[], negative_B=None)
