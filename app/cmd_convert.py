"""`python main.py convert WORKFLOW.json --to api|ui [-o OUT]`: convert between the two formats."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from app.engine import add_engine_arguments, build_engine
from app.workflow_io import read_workflow, to_ui
from graph.document import WorkflowError, dump_api

HELP = "convert a workflow between UI format and API format"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("workflow", help="workflow JSON file, API or UI format (detected)")
    parser.add_argument("--to", required=True, choices=["api", "ui"], help="target format")
    parser.add_argument("-o", "--output", help="write here instead of standard output")
    add_engine_arguments(parser)


def run(args: argparse.Namespace) -> int:
    try:
        engine = build_engine(args)
        loaded = read_workflow(args.workflow, engine.registry)
        if args.to == "api":
            text = dump_api(loaded.prompt)
        else:
            doc = loaded.ui if loaded.ui is not None else to_ui(loaded.prompt, engine.registry)
            text = json.dumps(doc, indent=2)
    except WorkflowError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.output:
        try:
            Path(args.output).write_text(text + "\n", encoding="utf-8")
        except OSError as exc:
            print(f"error: cannot write {args.output}: {exc.strerror or exc}", file=sys.stderr)
            return 1
    else:
        print(text)
    return 0
