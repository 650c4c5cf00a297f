"""Command-line dispatch. Each subcommand lives in its own module `app/cmd_<name>.py`
exposing HELP (one line), `add_arguments(parser)` and `run(args) -> int`; they are found
by name, so adding a command touches no shared file. With no subcommand, `serve` runs.

Only the module of the command being run is imported (so `tokenize` never pays for the
node registry); `--help` and an unknown command import them all to list them."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
from pathlib import Path

_COMMAND_PREFIX = "cmd_"
DEFAULT_COMMAND = "serve"


def command_modules() -> dict[str, str]:
    """Maps the command name ("make-checkpoint") to its module ("app.cmd_make_checkpoint")."""
    here = Path(__file__).parent
    found = {}
    for info in pkgutil.iter_modules([str(here)]):
        if info.name.startswith(_COMMAND_PREFIX):
            name = info.name[len(_COMMAND_PREFIX):].replace("_", "-")
            found[name] = f"app.{info.name}"
    return dict(sorted(found.items()))


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser with every command; with `only`, the other commands are bare names (nothing imported)."""
    parser = argparse.ArgumentParser(
        prog="main.py",
        description="latentgraph: a node-graph workflow editor and executor for Stable Diffusion. "
        "With no command it starts the server with the editor.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module_name in command_modules().items():
        if only is not None and name != only:
            sub.add_parser(name)
            continue
        module = importlib.import_module(module_name)
        cmd = sub.add_parser(name, help=getattr(module, "HELP", None), description=getattr(module, "HELP", None))
        module.add_arguments(cmd)
        cmd.set_defaults(_run=module.run)
    return parser


def main(argv: list[str]) -> int:
    commands = command_modules()
    # `python main.py --port 8190` means `serve --port 8190`.
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help")):
        if DEFAULT_COMMAND in commands:
            argv = [DEFAULT_COMMAND, *argv]
    parser = build_parser(only=argv[0] if argv and argv[0] in commands else None)
    args = parser.parse_args(argv)
    if getattr(args, "_run", None) is None:
        parser.print_help()
        return 2
    try:
        return int(args._run(args) or 0)
    except KeyboardInterrupt:
        return 130
