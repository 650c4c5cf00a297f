"""`python main.py validate WORKFLOW.json [--json]`: print every error, exit 1 when invalid."""

from __future__ import annotations

import argparse
import json
import sys

from app.engine import add_engine_arguments, build_engine
from app.workflow_io import read_workflow
from graph.document import WorkflowError
from graph.validate import validate_prompt

HELP = "check a workflow against the installed nodes and models; print every error"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("workflow", help="workflow JSON file, API or UI format (detected)")
    parser.add_argument("--json", action="store_true", help="print ComfyUI's error JSON")
    add_engine_arguments(parser)


def format_errors(validation, prompt: dict) -> list[str]:
    """One readable line per error: node id, class, input, message and details."""
    lines = []
    if validation.error and validation.error.get("type") != "prompt_outputs_failed_validation":
        err = validation.error
        details = f" ({err['details']})" if err.get("details") else ""
        lines.append(f"error: {err.get('message', err.get('type'))}{details}")
    for node_id, entry in validation.node_errors.items():
        class_type = entry.get("class_type") or (prompt.get(node_id) or {}).get("class_type", "?")
        for error in entry.get("errors", []):
            input_name = (error.get("extra_info") or {}).get("input_name")
            where = f"node {node_id} ({class_type})" + (f" input '{input_name}'" if input_name else "")
            details = f": {error['details']}" if error.get("details") else ""
            lines.append(f"{where}: {error.get('message')}{details} [{error.get('type')}]")
    return lines


def run(args: argparse.Namespace) -> int:
    try:
        engine = build_engine(args)
        loaded = read_workflow(args.workflow, engine.registry)
    except WorkflowError as exc:
        if args.json:
            body = {"error": {"type": "invalid_prompt", "message": str(exc), "details": "", "extra_info": {}},
                    "node_errors": {}}
            print(json.dumps(body, indent=2))
        else:
            print(f"error: {exc}", file=sys.stderr)
        return 1
    validation = validate_prompt(loaded.prompt, engine.registry)
    if args.json:
        print(json.dumps(validation.to_json(), indent=2))
    else:
        for line in format_errors(validation, loaded.prompt):
            print(line)
        if validation.ok and not validation.node_errors:
            print(f"ok: {len(loaded.prompt)} node(s), output(s) {', '.join(validation.outputs)}")
    return 0 if validation.ok and not validation.node_errors else 1
