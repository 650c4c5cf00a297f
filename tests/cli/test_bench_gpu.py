"""bench/gpu.py keeps working where no GPU is: it skips with a JSON line, and --device cpu runs every path small."""

from __future__ import annotations

import json

import pytest
import torch

from bench import gpu


def _last_json(capsys):
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


@pytest.mark.skipif(torch.cuda.is_available(), reason="skips only without CUDA")
def test_without_cuda_it_skips_and_says_so(capsys):
    assert gpu.main([]) == 0
    assert _last_json(capsys) == {"device": "cpu", "skipped": True}


def test_on_the_cpu_every_mode_runs_and_is_compared_with_fp32(tmp_path, capsys):
    code = gpu.main(["--device", "cpu", "--size", "tiny", "--steps", "1", "--batches", "1", "--families", "sd15",
                     "--cache-dir", str(tmp_path)])
    summary = _last_json(capsys)
    assert code == 0 and summary["device"] == "cpu" and summary["sd15_its"] > 0
    modes = {run["mode"]: run for run in summary["runs"]}
    assert set(modes) == {"fp32", "bf16"} and modes["fp32"]["psnr_vs_fp32_db"] is None
    assert modes["bf16"]["unet_dtype"] == "bfloat16" and 20 < modes["bf16"]["psnr_vs_fp32_db"] < 80
    assert summary["psnr_db"] == modes["bf16"]["psnr_vs_fp32_db"]


def test_on_cuda_every_compile_mode_gets_a_bf16_run_and_bad_modes_are_refused():
    modes = gpu.bench_modes(cuda=True, bf16=True, compile_modes=["default", "reduce-overhead"])
    assert [(name, backend, mode) for name, _, backend, mode in modes] == [
        ("fp32", None, None), ("fp16", None, None), ("bf16", None, None), ("bf16+compile", "inductor", "default"),
        ("bf16+compile:reduce-overhead", "inductor", "reduce-overhead")]
    assert [name for name, *_ in gpu.bench_modes(cuda=True, bf16=False, compile_modes=["default"])] == ["fp32", "fp16"]
    assert [name for name, *_ in gpu.bench_modes(cuda=False, bf16=True, compile_modes=["default"])] == ["fp32", "bf16"]
    with pytest.raises(SystemExit, match="unknown compile mode"):
        gpu.bench_modes(cuda=True, bf16=True, compile_modes=["fastest"])
