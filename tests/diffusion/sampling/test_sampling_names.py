"""The torch-free name lists (what the KSampler combos show) agree with what the engine implements."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from diffusion.imaging import resample
from diffusion.imaging.names import CROP_METHODS, IMAGE_METHODS, LATENT_METHODS
from diffusion.sampling import registry, schedules
from diffusion.sampling.discrete import DiscreteSchedule
from diffusion.sampling.names import SAMPLER_NAMES, SCHEDULER_NAMES

ROOT = Path(__file__).resolve().parents[3]


def test_names_modules_import_no_torch():
    code = ("import sys, diffusion.sampling.names, diffusion.imaging.names, diffusion.sampling; "
            "print(sorted(m for m in ('torch', 'numpy', 'PIL') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_every_listed_sampler_has_a_function_and_every_function_is_listed():
    implemented = {*registry._DETERMINISTIC, *registry._SEEDED, "dpm_fast", "dpm_adaptive"}
    assert implemented == set(SAMPLER_NAMES)
    assert len(SAMPLER_NAMES) == len(set(SAMPLER_NAMES))
    assert all(callable(registry.get_sampler(name)) for name in SAMPLER_NAMES)
    assert registry.DISCARD_PENULTIMATE_SIGMA <= set(SAMPLER_NAMES) and registry.STOCHASTIC <= set(SAMPLER_NAMES)
    assert registry.SAMPLER_NAMES is SAMPLER_NAMES  # one list, not a copy that can drift
    with pytest.raises(ValueError, match="unknown sampler"):
        registry.get_sampler("not_a_sampler")


@pytest.mark.parametrize("name", SCHEDULER_NAMES)
def test_every_listed_scheduler_computes_sigmas(name):
    sigmas = schedules.calculate_sigmas(DiscreteSchedule(), name, 6)
    assert sigmas.ndim == 1 and len(sigmas) >= 7  # ddim_uniform's rounding can give a step more, as in ComfyUI
    assert float(sigmas[-1]) == 0.0 and torch.all(sigmas[:-1] > 0)


def test_scheduler_list_is_the_one_the_engine_checks():
    assert schedules.SCHEDULER_NAMES is SCHEDULER_NAMES and len(set(SCHEDULER_NAMES)) == len(SCHEDULER_NAMES)
    with pytest.raises(ValueError, match="unknown scheduler"):
        schedules.calculate_sigmas(DiscreteSchedule(), "not_a_scheduler", 6)


@pytest.mark.parametrize(("methods", "channels"), [(IMAGE_METHODS, 3), (LATENT_METHODS, 4)])
@pytest.mark.parametrize("crop", CROP_METHODS)
def test_every_listed_resize_method_resizes(methods, channels, crop):
    samples = torch.rand(1, channels, 6, 10)
    for method in methods:
        assert resample.resize(samples, 5, 4, method, crop).shape == (1, channels, 4, 5), method
