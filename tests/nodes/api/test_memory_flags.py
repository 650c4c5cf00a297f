"""The VRAM and precision flags: parsed, carried by the DeviceRequest, turned into the manager's policy."""

from __future__ import annotations

import argparse

import pytest
import torch

from app.engine import add_engine_arguments, build_engine
from diffusion.memory.planner import GB, POLICIES
from nodes.api.model_services import ModelServices, memory_policy, resolve_device_choice
from nodes.api.runtime import MEMORY_POLICIES, DeviceRequest


def _parse(*argv):
    parser = argparse.ArgumentParser()
    add_engine_arguments(parser)
    return parser.parse_args(list(argv))


def test_the_runtime_knows_the_planners_policies():
    assert MEMORY_POLICIES == POLICIES


@pytest.mark.parametrize("flag, policy", [([], "normal"), (["--normalvram"], "normal"), (["--highvram"], "high"),
                                          (["--lowvram"], "low"), (["--novram"], "none")])
def test_each_vram_flag_reaches_the_device_request(tmp_path, flag, policy):
    engine = build_engine(_parse("--base-directory", str(tmp_path), "--disable-all-custom-nodes", *flag))
    assert engine.runtime.devices.memory == policy


@pytest.mark.parametrize("flag, packing", [([], True), (["--no-weight-packing"], False)])
def test_no_weight_packing_reaches_the_device_choice(tmp_path, flag, packing):
    request = build_engine(_parse("--base-directory", str(tmp_path), "--disable-all-custom-nodes", "--cpu", *flag)
                           ).runtime.devices
    assert request.weight_packing is packing
    choice = ModelServices.create(request).choice
    assert choice.pack_cpu_weights is packing
    # the plain copies of packed weights go to files in the server's temp folder
    assert choice.weight_file_dir == str((tmp_path / "temp" / "weights").resolve())


def test_budget_reserve_and_vae_precision_reach_the_policy(tmp_path):
    args = _parse("--base-directory", str(tmp_path), "--disable-all-custom-nodes", "--lowvram", "--vram-budget", "6",
                  "--reserve-vram", "1.5", "--vae-precision", "bf16", "--cpu")
    request = build_engine(args).runtime.devices
    policy = memory_policy(request)
    assert (policy.name, policy.budget_bytes, policy.reserve_bytes) == ("low", 6 * GB, int(1.5 * GB))
    services = ModelServices.create(request)
    assert services.manager.policy == policy and services.choice.vae_dtype == torch.bfloat16
    assert services.manager.budget_bytes <= 6 * GB


@pytest.mark.parametrize("argv", [["--lowvram", "--highvram"], ["--vram-budget", "0"], ["--reserve-vram", "-1"],
                                  ["--vram-budget", "lots"], ["--vae-precision", "fp8"]])
def test_bad_flags_are_refused_by_the_parser(argv, capsys):
    with pytest.raises(SystemExit):
        _parse(*argv)
    assert "error:" in capsys.readouterr().err


def test_bad_requests_are_refused_with_the_value_named():
    with pytest.raises(ValueError, match="unknown memory policy 'medium'"):
        DeviceRequest(memory="medium")
    with pytest.raises(ValueError, match="unknown vae precision 'fp8'"):
        DeviceRequest(vae_precision="fp8")
    with pytest.raises(ValueError, match="fp16 is not supported on the CPU"):
        resolve_device_choice(cpu=True, vae_precision="fp16")


def test_the_vae_precision_defaults_to_float32_on_the_cpu():
    assert resolve_device_choice(cpu=True).vae_dtype == torch.float32
    assert resolve_device_choice(cpu=True, vae_precision="fp32").vae_dtype == torch.float32
