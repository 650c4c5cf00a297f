"""Noise drawn as ComfyUI draws it: initial noise, batch_index semantics, ancestral and Brownian noise."""

import pytest
import torch

from diffusion.sampling.noise import (
    MAX_SEED,
    BrownianTreeNoiseSampler,
    GeneratorNoiseSampler,
    check_seed,
    prepare_noise,
)

LATENT = torch.zeros(3, 4, 8, 8)


def test_same_seed_same_noise_and_other_seed_other_noise():
    assert torch.equal(prepare_noise(LATENT, 42), prepare_noise(LATENT, 42))
    assert not torch.equal(prepare_noise(LATENT, 42), prepare_noise(LATENT, 43))
    assert prepare_noise(LATENT, 42).shape == LATENT.shape
    assert prepare_noise(LATENT, 42).device.type == "cpu"


def test_noise_is_the_global_cpu_generator_stream_without_touching_it():
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(1234)
        expected = torch.randn(LATENT.shape)
        torch.manual_seed(99)
        state = torch.get_rng_state()
        got = prepare_noise(LATENT, 1234)
        assert torch.equal(torch.get_rng_state(), state)  # global RNG untouched
    assert torch.equal(got, expected)


def test_noise_follows_the_latent_dtype():
    assert prepare_noise(LATENT.half(), 5).dtype == torch.float16


def test_batch_index_draws_one_image_per_index_in_order():
    generator = torch.Generator().manual_seed(7)
    singles = [torch.randn(1, 4, 8, 8, generator=generator) for _ in range(4)]
    picked = prepare_noise(torch.zeros(2, 4, 8, 8), 7, batch_index=[3, 1])
    assert torch.equal(picked[0:1], singles[3])
    assert torch.equal(picked[1:2], singles[1])


def test_image_k_of_a_batch_keeps_its_noise_when_picked_out():
    whole = prepare_noise(LATENT, 9, batch_index=[0, 1, 2])
    for k in range(3):
        assert torch.equal(prepare_noise(LATENT[:1], 9, batch_index=[k])[0], whole[k])


def test_repeated_batch_index_repeats_the_noise():
    repeated = prepare_noise(torch.zeros(3, 4, 8, 8), 3, batch_index=[1, 1, 2])
    assert torch.equal(repeated[0], repeated[1])
    assert not torch.equal(repeated[1], repeated[2])


def test_bad_batch_index_and_seeds_are_named():
    with pytest.raises(ValueError, match="batch_index has 2 entries but the latent batch has 3"):
        prepare_noise(LATENT, 1, batch_index=[0, 1])
    with pytest.raises(ValueError, match="batch_index entries must be >= 0"):
        prepare_noise(LATENT[:1], 1, batch_index=[-1])
    for bad in (-1, MAX_SEED + 1, 1.5, "3", True):
        with pytest.raises(ValueError, match="seed"):
            prepare_noise(LATENT, bad)
    assert check_seed(MAX_SEED) == MAX_SEED
    assert prepare_noise(LATENT, MAX_SEED).shape == LATENT.shape


def test_ancestral_noise_on_cpu_uses_seed_plus_one():
    x = torch.zeros(2, 4, 4, 4)
    sampler = GeneratorNoiseSampler(x, 10)
    generator = torch.Generator().manual_seed(11)
    first = torch.randn(x.shape, generator=generator)
    second = torch.randn(x.shape, generator=generator)
    assert torch.equal(sampler(torch.tensor(2.0), torch.tensor(1.0)), first)
    assert torch.equal(sampler(torch.tensor(1.0), torch.tensor(0.5)), second)
    # ... so it never replays the initial noise of the same seed.
    assert not torch.equal(first, prepare_noise(x, 10))


def test_brownian_tree_noise_is_seeded_and_unit_variance():
    x = torch.zeros(1, 20000)
    a, b = torch.tensor(2.0), torch.tensor(1.5)
    one = BrownianTreeNoiseSampler(x, 0.03, 14.6, seed=5)
    two = BrownianTreeNoiseSampler(x, 0.03, 14.6, seed=5)
    other = BrownianTreeNoiseSampler(x, 0.03, 14.6, seed=6)
    noise = one(a, b)
    assert torch.equal(noise, two(a, b))
    assert not torch.equal(noise, other(a, b))
    assert float(noise.std()) == pytest.approx(1.0, abs=0.03)
    assert float(noise.mean()) == pytest.approx(0.0, abs=0.03)
    # The same interval asked again (any order of queries) gives the same increment.
    assert torch.equal(one(a, b), noise)


def test_brownian_increments_add_up():
    x = torch.zeros(1, 256)
    tree = BrownianTreeNoiseSampler(x, 0.03, 14.6, seed=1)
    lo, mid, hi = torch.tensor(1.0), torch.tensor(2.0), torch.tensor(4.0)
    whole = tree(hi, lo) * (hi - lo).sqrt()
    parts = tree(hi, mid) * (hi - mid).sqrt() + tree(mid, lo) * (mid - lo).sqrt()
    assert torch.allclose(whole, parts, atol=1e-4)


def test_brownian_tree_needs_a_range():
    with pytest.raises(ValueError, match="sigma_min < sigma_max"):
        BrownianTreeNoiseSampler(torch.zeros(1, 4), 1.0, 1.0, seed=0)
