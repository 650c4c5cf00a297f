"""`main.py worker --ray ADDRESS` joins this machine with Ray's own `ray start`; `serve --ray` flags parse, and
neither imports Ray before it runs."""

from __future__ import annotations

import sys

import pytest

from app.cli import build_parser
from app.cmd_worker import ray_start_command


def test_worker_command_joins_with_ray_start():
    args = build_parser(only="worker").parse_args(["worker", "--ray", "10.0.0.1:6379", "--num-gpus", "4"])
    command = ray_start_command(args)
    assert command[1:] == ["start", "--address", "10.0.0.1:6379", "--block", "--num-gpus", "4"]
    with pytest.raises(SystemExit):
        build_parser(only="worker").parse_args(["worker"])  # the address is required


def test_serve_ray_flags():
    args = build_parser(only="serve").parse_args(["serve", "--ray", "--workers", "3"])
    assert args.ray == "local" and args.ray_workers == 3 and args.ray_worker_gpus is None
    assert args.shared_output is False
    assert build_parser(only="serve").parse_args(["serve", "--ray", "auto", "--shared-output"]).shared_output
    assert build_parser(only="serve").parse_args(["serve"]).ray is None
    assert build_parser(only="serve").parse_args(["serve", "--ray", "auto"]).ray == "auto"
    with pytest.raises(SystemExit):
        build_parser(only="serve").parse_args(["serve", "--ray", "--ray-workers", "0"])


def test_parsing_imports_no_ray():
    if "ray" in sys.modules:
        pytest.skip("ray was imported by another test of this session")
    build_parser(only="serve").parse_args(["serve", "--ray"])
    assert "ray" not in sys.modules
