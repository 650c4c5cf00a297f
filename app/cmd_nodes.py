"""`python main.py nodes [--json]`: list the node types (with --json: the /object_info JSON)."""

from __future__ import annotations

import argparse
import json

from app.engine import add_engine_arguments, build_engine

HELP = "list the available node types (with --json: ComfyUI's object_info JSON)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the object_info JSON")
    add_engine_arguments(parser)


def run(args: argparse.Namespace) -> int:
    engine = build_engine(args)
    info = engine.registry.object_info()
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    width = max((len(k) for k in info), default=10)
    for class_type, node in sorted(info.items(), key=lambda kv: (kv[1].get("category", ""), kv[0])):
        flag = " [output]" if node.get("output_node") else ""
        print(f"{class_type:<{width}}  {node.get('category', '')}: {node.get('display_name') or class_type}{flag}")
    return 0
