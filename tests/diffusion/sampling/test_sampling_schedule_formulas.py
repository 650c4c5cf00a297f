"""The custom-sampling schedules against hand-computed values, the published tables, and the sigma edits."""

import math

import pytest
import torch

from diffusion.sampling import published_schedules as published
from diffusion.sampling import schedules
from diffusion.sampling.discrete import DiscreteSchedule
from diffusion.sampling.gits_tables import GRID, TABLES
from diffusion.sampling.sigma_edits import (
    extend_intermediate_sigmas,
    flip_sigmas,
    parse_sigmas,
    set_first_sigma,
    split_sigmas_denoise,
)

SCHEDULE = DiscreteSchedule()


def test_exponential_is_geometric_and_ends_in_zero():
    sigmas = schedules.exponential_sigmas(5, 0.1, 10.0)
    assert sigmas.tolist() == pytest.approx([10.0, 10 ** 0.5, 1.0, 10 ** -0.5, 0.1, 0.0], rel=1e-5)
    ratios = sigmas[1:-1] / sigmas[:-2]
    assert torch.allclose(ratios, torch.full_like(ratios, 10 ** -0.5))


def test_polyexponential_with_rho_one_is_exponential_and_rho_bends_it():
    assert torch.allclose(schedules.polyexponential_sigmas(7, 0.03, 14.6, 1.0), schedules.exponential_sigmas(7, 0.03,
                                                                                                             14.6))
    sigmas = schedules.polyexponential_sigmas(3, 0.1, 10.0, 2.0)  # ramp 1, 0.25, 0
    assert sigmas.tolist() == pytest.approx([10.0, math.exp(0.25 * math.log(100) + math.log(0.1)), 0.1, 0.0], rel=1e-5)


def test_vp_matches_its_formula():
    sigmas = schedules.vp_sigmas(3, beta_d=19.9, beta_min=0.1, eps_s=0.001)
    expected = [math.sqrt(math.expm1(19.9 * t * t / 2 + 0.1 * t)) for t in (1.0, 0.5005, 0.001)] + [0.0]
    assert sigmas.tolist() == pytest.approx(expected, rel=1e-5)


def test_laplace_is_symmetric_in_log_sigma_and_has_no_final_zero():
    sigmas = schedules.laplace_sigmas(5, 0.001, 1000.0, mu=0.0, beta=0.5)
    assert len(sigmas) == 5 and float(sigmas[2]) == pytest.approx(1.0)
    assert float(sigmas[1]) == pytest.approx(math.exp(-0.5 * math.log(0.5 + 1e-5)), rel=1e-5)  # x = 0.25
    assert float(sigmas[1] * sigmas[3]) == pytest.approx(1.0, rel=1e-4)
    assert float(sigmas[0]) == pytest.approx(math.exp(-0.5 * math.log(1e-5)), rel=1e-5)
    clamped = schedules.laplace_sigmas(5, 0.5, 2.0)
    assert clamped[0] == 2.0 and clamped[-1] == 0.5 and clamped[2] == 1.0


def test_sd_turbo_takes_every_hundredth_timestep():
    sigmas = schedules.sd_turbo_sigmas(SCHEDULE, 3, 1.0)
    assert sigmas.tolist() == pytest.approx([float(SCHEDULE.sigmas[t]) for t in (999, 899, 799)] + [0.0], rel=1e-6)
    half = schedules.sd_turbo_sigmas(SCHEDULE, 2, 0.5)
    assert half.tolist() == pytest.approx([float(SCHEDULE.sigmas[t]) for t in (499, 399)] + [0.0], rel=1e-6)
    assert schedules.sd_turbo_sigmas(SCHEDULE, 4, 0.0).tolist() == [0.0]


def test_align_your_steps_uses_the_table_and_interpolates_in_log_sigma():
    table = published.ALIGN_YOUR_STEPS["SD1"]
    assert published.align_your_steps_sigmas("SD1", 10).tolist() == pytest.approx(list(table[:-1]) + [0.0])
    twenty = published.align_your_steps_sigmas("SDXL", 20)
    sdxl = published.ALIGN_YOUR_STEPS["SDXL"]
    assert float(twenty[0]) == pytest.approx(sdxl[0]) and float(twenty[2]) == pytest.approx(sdxl[1])
    assert float(twenty[1]) == pytest.approx(math.sqrt(sdxl[0] * sdxl[1]), rel=1e-6)  # log-midpoint
    assert twenty[-1] == 0 and len(twenty) == 21
    tail = published.align_your_steps_sigmas("SD1", 10, denoise=0.5)
    assert tail.tolist() == pytest.approx(list(table[5:10]) + [0.0])
    assert len(published.align_your_steps_sigmas("SD1", 10, denoise=0.0)) == 0
    with pytest.raises(ValueError, match="model_type"):
        published.align_your_steps_sigmas("SD3", 10)


def test_gits_tables_and_interpolation():
    assert sorted(TABLES) == pytest.approx([0.8 + 0.05 * i for i in range(15)])
    assert all(len(rows) == 19 and [len(r) for r in rows] == list(range(3, 22)) for rows in TABLES.values())
    ten = published.gits_sigmas(1.2, 10)
    row = [GRID[i] for i in TABLES[1.2][8]]
    assert ten.tolist() == pytest.approx(row[:-1] + [0.0]) and float(ten[0]) == pytest.approx(14.61464119)
    assert published.gits_sigmas(1.2000001, 10).tolist() == ten.tolist()  # coeff rounded to 2 decimals
    long = published.gits_sigmas(0.8, 40)
    last_row = [GRID[i] for i in TABLES[0.8][-1]]
    assert len(long) == 41 and float(long[0]) == pytest.approx(last_row[0]) and long[-1] == 0
    assert float(long[2]) == pytest.approx(last_row[1], rel=1e-6)  # 40 steps: every other point is a table value
    with pytest.raises(ValueError, match="coeff"):
        published.gits_sigmas(1.23, 10)


def test_flip_reverses_and_lifts_a_leading_zero():
    sigmas = torch.tensor([3.0, 2.0, 1.0, 0.0])
    assert flip_sigmas(sigmas).tolist() == pytest.approx([0.0001, 1.0, 2.0, 3.0])
    assert sigmas.tolist() == [3.0, 2.0, 1.0, 0.0]
    assert flip_sigmas(torch.tensor([1.0, 2.0])).tolist() == [2.0, 1.0]


def test_set_first_sigma_copies():
    sigmas = torch.tensor([3.0, 1.0, 0.0])
    assert set_first_sigma(sigmas, 9.5).tolist() == [9.5, 1.0, 0.0] and sigmas[0] == 3.0
    with pytest.raises(ValueError, match="empty"):
        set_first_sigma(torch.zeros(0), 1.0)


def test_split_denoise_keeps_the_last_steps():
    sigmas = torch.tensor([5.0, 4.0, 3.0, 2.0, 1.0, 0.0])
    high, low = split_sigmas_denoise(sigmas, 0.4)
    assert high.tolist() == [5.0, 4.0, 3.0, 2.0] and low.tolist() == [2.0, 1.0, 0.0]
    high, low = split_sigmas_denoise(sigmas, 1.0)
    assert high.tolist() == [5.0] and low.tolist() == sigmas.tolist()
    high, low = split_sigmas_denoise(sigmas, 0.0)
    assert high.tolist() == [] and low.tolist() == [0.0]


def test_extend_intermediate_inserts_spaced_sigmas_in_range():
    sigmas = torch.tensor([10.0, 6.0, 2.0, 0.0])
    assert extend_intermediate_sigmas(sigmas, 2, -1.0, 5.0, "linear").tolist() == [10.0, 8.0, 6.0, 4.0, 2.0, 0.0]
    cosine = extend_intermediate_sigmas(sigmas, 3, 7.0, 0.0, "cosine").tolist()
    step = [6.0 - 4.0 * math.sin(math.pi / 6), 6.0 - 4.0 * math.sin(math.pi / 3)]
    assert cosine == pytest.approx([10.0, 6.0, *step, 2.0, 2.0 - 2.0 * 0.5, 2.0 - 2.0 * math.sin(math.pi / 3), 0.0])
    assert extend_intermediate_sigmas(sigmas, 1, -1.0, 0.0, "sine").tolist() == sigmas.tolist()
    with pytest.raises(ValueError, match="spacing"):
        extend_intermediate_sigmas(sigmas, 2, -1.0, 0.0, "square")


def test_parse_sigmas_reads_every_number():
    assert parse_sigmas("14.6, 3 ;.5 and 0").tolist() == pytest.approx([14.6, 3.0, 0.5, 0.0])
    assert parse_sigmas("none").tolist() == []


@pytest.mark.parametrize("percent", [0.1, 0.25, 0.5, 0.9])
def test_percent_to_sigma_round_trips_through_the_timestep(percent):
    sigma = SCHEDULE.percent_to_sigma(percent)
    timestep = float(SCHEDULE.timestep_continuous(torch.tensor(sigma)))
    assert 1.0 - timestep / 999 == pytest.approx(percent, abs=1e-4)
    assert SCHEDULE.percent_to_sigma(0.0) > 1e8 and SCHEDULE.percent_to_sigma(1.0) == 0.0
