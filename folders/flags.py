"""ComfyUI's folder flags (`--base-directory`, `--input-directory`, ...) for any command's parser."""

from __future__ import annotations

import argparse


def add_folder_arguments(parser: argparse.ArgumentParser) -> None:
    """Adds ComfyUI's folder flags to `parser`."""
    group = parser.add_argument_group("folders")
    group.add_argument("--base-directory", metavar="DIR", help="root of models/, input/, output/, temp/, user/")
    group.add_argument("--input-directory", metavar="DIR", help="where uploads and input images live")
    group.add_argument("--output-directory", metavar="DIR", help="where generated files are written")
    group.add_argument("--temp-directory", metavar="DIR", help="parent of the temp/ folder for previews")
    group.add_argument("--user-directory", metavar="DIR", help="per-user settings and saved workflows")
    group.add_argument(
        "--follow-outside-symlinks", action="store_true",
        help="list and read files through symlinks inside a folder that point outside it (ComfyUI does; "
             "off by default: add a shared model library with --extra-model-paths-config instead)")
    group.add_argument(
        "--extra-model-paths-config",
        metavar="PATH",
        nargs="+",
        action="append",
        help="extra_model_paths.yaml file(s) adding model search paths (repeatable)",
    )
