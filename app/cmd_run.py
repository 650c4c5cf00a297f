"""`python main.py run WORKFLOW.json [--set NODE_ID.INPUT=VALUE ...]`: run a workflow headless."""

from __future__ import annotations

import argparse
import sys
import uuid
from pathlib import Path

from app.cmd_validate import format_errors
from app.engine import add_engine_arguments, build_engine
from app.progress import TerminalProgress
from app.workflow_io import apply_assignments, read_workflow
from graph.document import WorkflowError
from graph.executor import Executor
from graph.validate import validate_prompt

HELP = "run a workflow (API or UI format) headless and print the files it wrote"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("workflow", help="workflow JSON file, API or UI format (detected)")
    parser.add_argument(
        "--set",
        dest="assignments",
        action="append",
        default=[],
        metavar="NODE_ID.INPUT=VALUE",
        help="override an input; VALUE is parsed as JSON, else taken as a string (repeatable)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    add_engine_arguments(parser)


def output_files(result_outputs: dict, folders) -> list[Path]:
    """Paths of the files the run's output nodes reported in their ui dicts."""
    roots = {"output": folders.output_dir, "temp": folders.temp_dir, "input": folders.input_dir}
    files = []
    for ui in result_outputs.values():
        for items in (ui or {}).values():
            for item in items if isinstance(items, list) else []:
                if isinstance(item, dict) and "filename" in item:
                    root = Path(roots.get(item.get("type", "output"), folders.output_dir))
                    files.append(root / item.get("subfolder", "") / item["filename"])
    return files


def run(args: argparse.Namespace) -> int:
    err = sys.stderr
    try:
        engine = build_engine(args)
        loaded = read_workflow(args.workflow, engine.registry)
        prompt = apply_assignments(loaded.prompt, args.assignments)
    except (WorkflowError, ValueError) as exc:
        print(f"error: {exc}", file=err)
        return 1
    validation = validate_prompt(prompt, engine.registry)
    # Stricter than the server (which runs the valid outputs, as ComfyUI does): a script
    # asked to run the whole workflow, so any invalid output fails the run before it starts.
    if not validation.ok or validation.node_errors:
        for line in format_errors(validation, prompt):
            print(line, file=err)
        return 1
    extra_data = {"extra_pnginfo": {"workflow": loaded.ui}} if loaded.ui is not None else {}
    executor = Executor(engine.registry, cache=engine.cache, runtime=engine.runtime)
    progress = TerminalProgress(prompt, enabled=not args.quiet, stream=err)
    try:
        result = executor.execute(
            validation.prompt,
            prompt_id=str(uuid.uuid4()),
            outputs=validation.outputs,
            extra_data=extra_data,
            sink=progress,
        )
    finally:
        progress.close()
    if result.status != "success":
        error = result.error or {}
        if result.status == "interrupted":
            print("interrupted", file=err)
        else:
            node = error.get("node_id")
            print(
                f"error: node {node} ({error.get('node_type')}) failed: "
                f"{error.get('exception_type', 'Error')}: {error.get('exception_message', '')}".rstrip(),
                file=err,
            )
        return 1
    for path in output_files(result.outputs, engine.folders):
        print(path)
    return 0
