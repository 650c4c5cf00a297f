"""`python main.py worker --ray ADDRESS`: add this machine (its GPUs and CPUs) to the Ray cluster of a
`serve --ray` coordinator. It runs Ray's own `ray start --address ADDRESS --block`; the coordinator's
workers (`serve --ray ADDRESS --ray-workers N`) are placed on the machines as they join, one per GPU.
The machine needs the same checkout (and model folders, or a shared one) as the coordinator."""

from __future__ import annotations

import argparse
import os
import shutil
import sys

HELP = "add this machine's GPUs to the Ray cluster of a `serve --ray` coordinator"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ray", required=True, metavar="ADDRESS",
                        help="the cluster's head (host:port, as `ray start --head` printed it)")
    parser.add_argument("--num-gpus", type=int, default=None, help="GPUs to offer (default: Ray counts them)")
    parser.add_argument("--num-cpus", type=int, default=None, help="CPUs to offer (default: Ray counts them)")


def ray_start_command(args: argparse.Namespace) -> list[str]:
    """The `ray start` command line this machine joins with."""
    ray = shutil.which("ray", path=os.path.dirname(sys.executable)) or shutil.which("ray")
    if ray is None:
        raise SystemExit("main.py worker needs Ray: install the optional extra with `pip install -e \".[ray]\"`.")
    command = [ray, "start", "--address", args.ray, "--block"]
    if args.num_gpus is not None:
        command += ["--num-gpus", str(args.num_gpus)]
    if args.num_cpus is not None:
        command += ["--num-cpus", str(args.num_cpus)]
    return command


def run(args: argparse.Namespace) -> int:
    command = ray_start_command(args)
    print("joining the Ray cluster:", " ".join(command), flush=True)
    os.execv(command[0], command)  # Ray's node process takes over this one; Ctrl-C leaves the cluster
    return 0  # not reached
