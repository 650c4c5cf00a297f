"""Helpers shared by the folder tests."""

from __future__ import annotations

import argparse

from folders.flags import add_folder_arguments


def parse(*argv):
    parser = argparse.ArgumentParser()
    add_folder_arguments(parser)
    return parser.parse_args(list(argv))


def touch(path, data=b"x"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path
