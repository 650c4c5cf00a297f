"""--compile-unet [MODE]: every loaded UNet runs through torch.compile (inductor) in that mode, compiled once
per base model and mode at its first use; bad modes are refused where they enter."""

from __future__ import annotations

import argparse

import pytest
import torch

from app.engine import add_engine_arguments, build_engine
from nodes.api.model_services import ModelServices, prepare_unet
from nodes.api.runtime import DeviceRequest
from tests.nodes.library.model_patches.patch_fixtures import tiny_unet_handle


def _request(tmp_path, *flags) -> DeviceRequest:
    parser = argparse.ArgumentParser()
    add_engine_arguments(parser)
    args = parser.parse_args(["--base-directory", str(tmp_path), "--disable-all-custom-nodes", "--cpu", *flags])
    return build_engine(args).runtime.devices


@pytest.mark.parametrize(("flags", "backend", "mode"), [
    ((), None, None),
    (("--compile-unet",), "inductor", "default"),
    (("--compile-unet", "reduce-overhead"), "inductor", "reduce-overhead"),
    (("--compile-unet", "max-autotune-no-cudagraphs"), "inductor", "max-autotune-no-cudagraphs"),
])
def test_the_flag_reaches_every_loaded_unet(tmp_path, flags, backend, mode):
    services = ModelServices.create(_request(tmp_path, *flags))
    handle = prepare_unet(tiny_unet_handle(), services.choice)
    assert (handle.compile_backend, handle.compile_mode) == (backend, mode)
    assert (handle.clone().compile_backend, handle.clone().compile_mode) == (backend, mode)


def test_bad_modes_are_refused_by_the_parser_and_the_request(tmp_path, capsys):
    with pytest.raises(SystemExit):
        _request(tmp_path, "--compile-unet", "turbo")
    assert "invalid choice: 'turbo'" in capsys.readouterr().err
    with pytest.raises(ValueError, match="unknown compile mode 'turbo'; expected one of default, reduce-overhead"):
        DeviceRequest(cpu=True, compile_unet="turbo")


def test_a_build_that_cannot_compile_refuses_the_flag_clearly(tmp_path, monkeypatch):
    import nodes.api.model_services as services

    monkeypatch.setattr(services, "compile_problem", lambda backend, device: "torch.compile is not supported here")
    with pytest.raises(RuntimeError, match="--compile-unet: torch.compile is not supported here"):
        ModelServices.create(_request(tmp_path, "--compile-unet"))
    ModelServices.create(_request(tmp_path))  # without the flag nothing is asked


def test_the_mode_goes_to_torch_compile_once_per_base_and_mode(monkeypatch):
    calls = []

    def fake_compile(module, backend, **options):  # checks the wrapping without compiling
        calls.append((backend, options.get("mode")))
        return module

    monkeypatch.setattr(torch, "compile", fake_compile)
    handle = tiny_unet_handle()
    handle.compile_backend, handle.compile_mode = "inductor", "reduce-overhead"
    other = handle.clone()
    other.compile_mode = None
    x = torch.randn(1, 4, 8, 8)
    t = torch.tensor([10.0])
    context = torch.randn(1, 3, handle.model.config.context_dim)
    for patcher in (handle, handle.clone(), other):
        patcher(x, t, context)
    assert calls == [("inductor", "reduce-overhead"), ("inductor", None)]
    assert handle.fingerprint() != other.fingerprint()  # the mode is part of what the handle computes
