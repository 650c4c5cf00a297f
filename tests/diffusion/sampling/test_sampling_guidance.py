"""The denoiser wrapper (eps/v) and classifier-free guidance over conds with areas, masks and ranges."""

import pytest
import torch
from sampling_toys import ToyModel, cond

from diffusion.sampling.cfg import GuidedDenoiser
from diffusion.sampling.conds import add_opposite_areas, prepare_conditioning
from diffusion.sampling.denoiser import DiscreteDenoiser, InpaintDenoiser, scalings
from diffusion.sampling.discrete import DiscreteSchedule
from graph.context import Interrupted, InterruptToken

SCHEDULE = DiscreteSchedule()
SHAPE = (2, 4, 32, 32)


class ContextReader:
    """A fake denoiser whose prediction is the mean of each batch item's text context (records calls)."""

    def __init__(self):
        self.calls = []

    def __call__(self, x, sigma, context=None, y=None, concat=None):
        self.calls.append({"batch": x.shape[0], "shape": tuple(x.shape), "tokens": context.shape[1], "y": y,
                           "sigma": sigma.clone()})
        return context.mean(dim=(1, 2)).reshape(-1, 1, 1, 1).expand_as(x).clone()


def prep(conds, which="positive", shape=SHAPE, **kwargs):
    return prepare_conditioning(conds, which=which, latent_shape=shape, schedule=SCHEDULE, **kwargs)


def guided(positive, negative, cfg, **kwargs):
    reader = ContextReader()
    return GuidedDenoiser(reader, prep(positive), prep(negative, "negative"), cfg, **kwargs), reader


X = torch.zeros(SHAPE)
SIGMA = torch.tensor(3.0)


@pytest.mark.parametrize("prediction", ["eps", "v"])
def test_denoiser_recovers_the_exact_denoised_for_eps_and_v(prediction):
    toy = ToyModel(prediction=prediction)
    denoiser = DiscreteDenoiser(toy.apply, prediction, SCHEDULE)
    sigma = SCHEDULE.sigmas[[600, 250]]  # table sigmas: the nearest timestep is exact
    x = torch.randn(2, 4, 8, 8, generator=torch.Generator().manual_seed(0)) * 3
    context = torch.full((2, 3, 8), 0.7)
    got = denoiser(x, sigma, context=context)
    col = sigma.reshape(-1, 1, 1, 1)
    expected = (0.25 * x + col ** 2 * 0.7) / (0.25 + col ** 2)
    assert torch.allclose(got, expected, atol=1e-4)
    assert toy.calls[0]["timesteps"].tolist() == [600.0, 250.0]


def test_scalings_and_errors():
    sigma = torch.tensor(2.0)
    c_skip, c_out, c_in = scalings(sigma, "v")
    assert float(c_skip) == pytest.approx(0.2)
    assert float(c_out) == pytest.approx(-2 / 5 ** 0.5)
    assert float(c_in) == pytest.approx(1 / 5 ** 0.5)
    with pytest.raises(ValueError, match="unknown prediction type 'x0'"):
        scalings(sigma, "x0")
    with pytest.raises(ValueError, match="unknown prediction type"):
        DiscreteDenoiser(lambda *a, **k: None, "flow", SCHEDULE)
    bad = DiscreteDenoiser(lambda x, t, context=None, y=None: x[:, :2], "eps", SCHEDULE)
    with pytest.raises(ValueError, match="returned shape"):
        bad(torch.zeros(1, 4, 8, 8), torch.tensor([1.0]))


def test_inpaint_denoiser_pins_the_kept_region():
    latent = torch.randn(1, 4, 8, 8)
    noise = torch.randn(1, 4, 8, 8)
    mask = torch.zeros(1, 4, 8, 8)
    mask[..., :4] = 1
    seen = {}

    def inner(x, sigma, **_):
        seen["x"] = x.clone()
        return torch.full_like(x, 9.0)

    out = InpaintDenoiser(inner, latent, mask, noise)(torch.zeros(1, 4, 8, 8), torch.tensor([2.0]))
    assert torch.equal(out[..., 4:], latent[..., 4:])
    assert torch.all(out[..., :4] == 9.0)
    assert torch.allclose(seen["x"][..., 4:], (latent + 2.0 * noise)[..., 4:])
    assert torch.all(seen["x"][..., :4] == 0)


def test_cfg_one_skips_the_unconditional_pass():
    model, reader = guided(cond(2.0), cond(-1.0), cfg=1.0)
    out = model(X, SIGMA)
    assert torch.all(out == 2.0)
    assert [c["batch"] for c in reader.calls] == [2]


def test_cfg_runs_cond_and_uncond_in_one_batch():
    model, reader = guided(cond(2.0), cond(-1.0), cfg=7.5)
    out = model(X, SIGMA)
    assert torch.allclose(out, torch.full_like(out, -1.0 + (2.0 + 1.0) * 7.5))
    assert [c["batch"] for c in reader.calls] == [4]
    assert reader.calls[0]["sigma"].tolist() == [3.0] * 4


def test_different_prompt_lengths_share_a_batch_via_lcm():
    model, reader = guided(cond(2.0, tokens=77), cond(-1.0, tokens=154), cfg=2.0)
    model(X, SIGMA)
    assert [(c["batch"], c["tokens"]) for c in reader.calls] == [(4, 154)]
    model, reader = guided(cond(2.0, tokens=77), cond(-1.0, tokens=400), cfg=2.0)
    out = model(X, SIGMA)
    assert sorted(c["tokens"] for c in reader.calls) == [77, 400]
    assert torch.allclose(out, torch.full_like(out, -1.0 + 3.0 * 2.0))


def test_area_cond_is_blended_with_feathered_edges():
    positive = cond(0.0) + cond(1.0, area=(16, 16, 8, 8))
    model, reader = guided(positive, cond(0.0), cfg=1.0)
    out = model(X, SIGMA)[0, 0]
    assert float(out[16, 16]) == pytest.approx(0.5)  # interior: equal weights
    assert float(out[2, 2]) == 0.0  # outside the area
    # A 16-pixel area feathers over min(8, 16 // 4) = 4 pixels: weights 1/4, 2/4, 3/4, 1.
    assert float(out[8, 16]) == pytest.approx(0.25 / 1.25)
    assert float(out[23, 16]) == pytest.approx(0.25 / 1.25)
    assert float(out[10, 16]) == pytest.approx(0.75 / 1.75)
    assert float(out[12, 16]) == pytest.approx(0.5)
    # Two batches: the full-size conds and the cropped one.
    assert sorted(c["shape"][2:] for c in reader.calls) == [(16, 16), (32, 32)]


def test_large_area_feathers_over_eight_latent_pixels():
    shape = (1, 4, 64, 64)
    reader = ContextReader()
    positive = prep(cond(0.0) + cond(1.0, area=(32, 32, 16, 16)), shape=shape)
    model = GuidedDenoiser(reader, positive, prep(cond(0.0), "negative", shape=shape), 1.0)
    out = model(torch.zeros(shape), SIGMA)[0, 0]
    column = out[16:24, 30].tolist()
    expected = [((t + 1) / 8) / (1 + (t + 1) / 8) for t in range(8)]
    assert column == pytest.approx(expected)
    assert float(out[24, 30]) == pytest.approx(0.5)


def test_area_at_the_border_is_not_feathered_there_and_strength_scales():
    positive = cond(0.0) + cond(1.0, area=(16, 32, 0, 0), strength=3.0)
    model, _ = guided(positive, cond(0.0), cfg=1.0)
    out = model(X, SIGMA)[0, 0]
    assert float(out[0, 0]) == pytest.approx(3 / 4)  # top-left corner touches the border
    assert float(out[15, 5]) == pytest.approx(0.75 / 1.75)  # bottom edge feathered: 3 x 1/4


def test_area_cond_alone_leaves_the_rest_unconditioned():
    model, _ = guided(cond(1.0, area=(8, 8, 0, 0)), cond(0.0), cfg=1.0)
    out = model(X, SIGMA)[0, 0]
    assert float(out[20, 20]) == 0.0
    assert float(out[0, 0]) == pytest.approx(1.0)


def test_percentage_area():
    prepared = prep(cond(1.0, area=("percentage", 0.5, 0.25, 0.5, 0.0)))
    assert prepared[0].area == (16, 8, 16, 0)


def test_mask_weights_and_resizing():
    mask = torch.zeros(256, 256)  # pixel-sized mask for a 32x32 latent
    mask[:, :128] = 1.0
    positive = cond(0.0) + cond(1.0, mask=mask, mask_strength=0.5, strength=2.0)
    model, _ = guided(positive, cond(0.0), cfg=1.0)
    out = model(X, SIGMA)[0, 0]
    assert float(out[10, 4]) == pytest.approx(0.5)  # weight 1 vs the full cond's 1
    assert float(out[10, 28]) == 0.0


def test_mask_bounds_become_the_area():
    mask = torch.zeros(32, 32)
    mask[4:20, 10:14] = 1.0
    prepared = prep(cond(1.0, mask=mask, set_area_to_bounds=True))
    assert prepared[0].area == (16, 8, 4, 10)  # width grows to the minimum of 8
    empty = prep(cond(1.0, mask=torch.zeros(32, 32), set_area_to_bounds=True))
    assert empty[0].area == (8, 8, 0, 0)


def test_timestep_range():
    early = cond(1.0, start_percent=0.0, end_percent=0.5)
    late = cond(-1.0, start_percent=0.5, end_percent=1.0)
    model, _ = guided(early + late, cond(0.0), cfg=1.0)
    high, low = SCHEDULE.sigma_max * 0.9, SCHEDULE.sigma_min * 2
    assert torch.all(model(X, high) == 1.0)
    assert torch.all(model(X, low) == -1.0)


def test_opposite_area_counterparts():
    positive = prep(cond(1.0) + cond(2.0, area=(8, 8, 8, 8)))
    negative = prep(cond(-1.0), "negative")
    add_opposite_areas(positive, negative)
    assert len(negative) == 2
    assert negative[1].area == (8, 8, 8, 8)
    assert float(negative[1].context.mean()) == -1.0
    assert len(positive) == 2  # the copy's area already exists on the positive side


def test_interrupt_is_checked_before_each_evaluation():
    token = InterruptToken()
    token.set()
    model, reader = guided(cond(1.0), cond(0.0), cfg=5.0, interrupt_check=token.check)
    with pytest.raises(Interrupted):
        model(X, SIGMA)
    assert reader.calls == []


def test_sdxl_vector_conditioning_defaults():
    seen = []

    def fake_adm(family, pooled, width, height, crop_w, crop_h, target_width, target_height, aesthetic):
        seen.append((family, width, height, crop_w, crop_h, target_width, target_height, aesthetic))
        return torch.cat([pooled, torch.zeros(pooled.shape[0], 3)], dim=1)

    pooled = torch.ones(1, 5)
    shape = (2, 4, 16, 12)
    prep(cond(1.0, pooled_output=pooled), shape=shape, family="sdxl", adm=fake_adm)
    prep(cond(1.0, pooled_output=pooled), "negative", shape=shape, family="sdxl-refiner", adm=fake_adm)
    got = prep(cond(1.0, pooled_output=pooled, width=1024, height=768, crop_w=8, target_width=2048,
                    aesthetic_score=7.0), shape=shape, family="sdxl", adm=fake_adm)
    assert seen[0] == ("sdxl", 96, 128, 0, 0, 96, 128, 6.0)
    assert seen[1] == ("sdxl-refiner", 96, 128, 0, 0, 96, 128, 2.5)
    assert seen[2] == ("sdxl", 1024, 768, 8, 0, 2048, 768, 7.0)
    assert got[0].y.shape == (2, 8)
    with pytest.raises(ValueError, match="pooled_output"):
        prep(cond(1.0), family="sdxl", adm=fake_adm)


def test_sd15_has_no_vector_conditioning():
    assert prep(cond(1.0, pooled_output=torch.ones(1, 5)))[0].y is None


@pytest.mark.parametrize(("conds", "message"), [
    ("text", "must be a list"),
    ([torch.zeros(1, 4, 8)], r"positive conditioning #0: expected a \[tensor, dict\] pair"),
    ([[torch.zeros(4, 8), {}]], r"\[batch, tokens, dim\]"),
    ([[torch.zeros(1, 4, 8), "opts"]], "must be a dict"),
    (cond(1.0, area=(8, 8)), "area must be"),
    (cond(1.0, area=(8, 8, 40, 0)), "starts outside"),
    (cond(1.0, area=(0, 8, 0, 0)), "positive size"),
    (cond(1.0, area=("a", 8, 0, 0)), "must be numbers"),
    (cond(1.0, mask=torch.zeros(2, 2, 2, 2)), "mask must be"),
    (cond(1.0, strength=float("nan")), "strength must be a finite number"),
    (cond(1.0, start_percent="soon"), "start_percent"),
])
def test_bad_conditioning_is_named(conds, message):
    with pytest.raises(ValueError, match=message):
        prep(conds)
