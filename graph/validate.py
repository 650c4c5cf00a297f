"""Whole-prompt validation with ComfyUI's error types and JSON shape, every error at once.

`validate_prompt` checks the document shape and class types of every node, finds the
output nodes, then checks each node some output needs (once, iteratively) and every
dependency cycle among them. Outputs whose whole upstream is valid are returned to be
executed, even when other outputs fail (ComfyUI parity). Decisions beyond ComfyUI:

- a malformed or unknown node is reported for every such node at once (node_errors
  carries one entry per node; the top-level `invalid_prompt` error names the first and
  lists all in `details`);
- input keys a node does not declare are ignored (neither validated nor passed on);
- a dependency cycle is one error of type `dependency_cycle`, on the first of its nodes
  (in sorted order), naming the first of its nodes and how many there are;
- reports are bounded (graph.error_bounds): at most `MAX_REPORTED_NODES` entries in
  node_errors (the top-level error counts the others in `extra_info.omitted_node_errors`),
  capped lists that say how many they left out, texts and values cut short; nothing in
  validation grows faster than the prompt (dependent outputs are found with a bounded walk);
- literal coercion is stricter than ComfyUI's (see graph.coerce);
- a literal given to a socket-typed input (MODEL, LATENT, ...: `InputSpec.links_only`) is an
  error (``bad_linked_input``; ``required_input_missing`` for a null), where ComfyUI lets it
  through to fail at run time; a null on an optional socket passes, as in ComfyUI;
- a combo value shaped like a path escaping its folder (``..``, absolute) is refused
  even for inputs the node validates itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from graph.error_bounds import (
    MAX_DEPENDENT_OUTPUTS,
    MAX_LISTED_IDS,
    capped_lines,
    capped_node_errors,
    cut_text,
)
from graph.plan import describe_cycle, find_cycles, is_acyclic
from graph.prompt import ShapeProblem, check_prompt_shape
from graph.schema import Registry
from graph.type_table import TypeTable
from graph.validate_node import check_node, error, exception_info


@dataclass
class ValidationResult:
    """The outcome of `validate_prompt`, in ComfyUI's terms."""

    ok: bool
    error: dict | None
    node_errors: dict[str, dict] = field(default_factory=dict)
    outputs: list[str] = field(default_factory=list)
    prompt: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        """ComfyUI's ``/prompt`` 400 body: ``{"error": ..., "node_errors": ...}``."""
        return {"error": self.error, "node_errors": self.node_errors}


def _failure(kind: str, message: str, details: str = "", node_errors: dict | None = None) -> ValidationResult:
    return ValidationResult(ok=False, error=error(kind, message, details), node_errors=node_errors or {})


def _invalid_prompt(problems: list[ShapeProblem]) -> ValidationResult:
    node_errors: dict[str, dict] = {}
    for problem in problems:
        if problem.node_id is None:
            continue
        key = str(problem.node_id)
        entry = node_errors.setdefault(
            key, {"errors": [], "dependent_outputs": [], "class_type": _class_type_shown(problem.class_type)}
        )
        entry["errors"].append(error("invalid_prompt", problem.message, f"Node ID '#{key}'"))
    first = problems[0]
    if len(problems) == 1:
        details = "" if first.node_id is None else f"Node ID '#{first.node_id}'"
    else:
        lines = (f"Node ID '#{p.node_id}': {p.message}" for p in problems)
        details = capped_lines(lines, len(problems))
    node_errors, omitted = capped_node_errors(node_errors)
    result = _failure("invalid_prompt", first.message, details, node_errors)
    _count_omitted(result, omitted)
    return result


def _class_type_shown(class_type: Any) -> Any:
    return cut_text(class_type) if isinstance(class_type, str) else class_type


def _count_omitted(result: ValidationResult, omitted: int) -> None:
    """Say in the top-level error how many node_errors entries the report left out."""
    if omitted and result.error is not None:
        result.error["extra_info"]["omitted_node_errors"] = omitted
        result.error["details"] += f"\n... errors of {omitted} more nodes are not shown"


def _check_classes(prompt: dict, table: TypeTable) -> list[ShapeProblem]:
    problems = check_prompt_shape(prompt)
    bad = {p.node_id for p in problems}
    for node_id, node in prompt.items() if isinstance(prompt, dict) else ():
        if node_id in bad:
            continue
        reason = table.load(node["class_type"])
        if reason is not None:
            problems.append(ShapeProblem(node_id, reason, node["class_type"]))
    return problems


def _dependents(sources: dict[str, list[str]]) -> dict[str, list[str]]:
    dependents: dict[str, list[str]] = {}
    for node, srcs in sources.items():
        for src in srcs:
            dependents.setdefault(src, []).append(node)
    return dependents


def _spread(start: set[str], edges: dict[str, list[str]]) -> set[str]:
    """`start` plus everything reachable from it along `edges`."""
    reached = set(start)
    stack = list(start)
    while stack:
        for nxt in edges.get(stack.pop(), ()):
            if nxt not in reached:
                reached.add(nxt)
                stack.append(nxt)
    return reached


def _walk_outputs(prompt: dict, outputs: list[str], table: TypeTable):
    """Check every node the outputs need; returns (errors by node, coerced inputs, sources)."""
    errors: dict[str, list[dict]] = {}
    coerced: dict[str, dict] = {}
    sources: dict[str, list[str]] = {}
    stack = list(reversed(outputs))
    while stack:
        node_id = stack.pop()
        if node_id in sources:
            continue
        node = prompt[node_id]
        node_type, schema = table(node["class_type"])
        try:
            check = check_node(node_id, node, schema, node_type, prompt, table.schema)
        except Exception as exc:  # a bug or a hostile object: report it, keep validating the rest
            errors[node_id] = [error("exception_during_validation", "Exception when validating node", str(exc), **exception_info(exc))]
            sources[node_id] = []
            continue
        sources[node_id] = check.sources
        coerced[node_id] = check.inputs
        if check.errors:
            errors[node_id] = check.errors
        stack.extend(src for src in check.sources if src not in sources)
    return errors, coerced, sources


def _add_cycle_errors(errors: dict[str, list[dict]], sources: dict[str, list[str]]) -> None:
    """One error per cycle, on its first node, listing its first `MAX_LISTED_IDS` nodes."""
    if is_acyclic(sources):
        return
    for cycle in find_cycles(sources):
        errors.setdefault(cycle[0], []).append(
            error(
                "dependency_cycle",
                "Dependency cycle detected",
                describe_cycle(cycle),
                cycle=cycle[:MAX_LISTED_IDS],
                cycle_length=len(cycle),
            )
        )


def _dependent_outputs(failed_outputs: list[str], sources: dict[str, list[str]]) -> dict[str, list[str]]:
    """For each node, the first failed outputs (in order) that need it: up to one more than
    `MAX_DEPENDENT_OUTPUTS`, so that a longer list shows as cut.

    One walk upstream per output, never entering a node that already holds the full count:
    everything upstream of such a node holds it too, so the work is bounded by
    (MAX_DEPENDENT_OUTPUTS + 1) times the number of links, not outputs times nodes.
    """
    found: dict[str, list[str]] = {}
    for output in failed_outputs:
        stack = [output]
        while stack:
            node_id = stack.pop()
            held = found.setdefault(node_id, [])
            if len(held) > MAX_DEPENDENT_OUTPUTS or (held and held[-1] == output):
                continue
            held.append(output)
            stack.extend(sources.get(node_id, ()))
    return found


def _node_errors(prompt: dict, errors: dict, sources: dict, failed_outputs: list[str]) -> dict[str, dict]:
    dependents = _dependent_outputs(failed_outputs, sources)
    result = {}
    for node_id, errs in errors.items():
        outputs = dependents.get(node_id, [])
        entry = {
            "errors": errs,
            "dependent_outputs": outputs[:MAX_DEPENDENT_OUTPUTS],
            "class_type": _class_type_shown(prompt[node_id]["class_type"]),
        }
        if len(outputs) > MAX_DEPENDENT_OUTPUTS:
            entry["more_dependent_outputs"] = True
        result[node_id] = entry
    return result


def _coerced_prompt(prompt: dict, coerced: dict[str, dict]) -> dict:
    copy = {}
    for node_id, node in prompt.items():
        if node_id in coerced:
            node = dict(node)
            node["inputs"] = coerced[node_id]
        copy[node_id] = node
    return copy


def _validate(prompt: Any, registry: Registry, partial_targets: list[str] | None) -> ValidationResult:
    table = TypeTable(registry)
    problems = _check_classes(prompt, table)
    if problems:
        return _invalid_prompt(problems)
    wanted = None if partial_targets is None else set(partial_targets)
    outputs = [
        node_id
        for node_id, node in prompt.items()
        if table.schema(node["class_type"]).output_node and (wanted is None or node_id in wanted)
    ]
    if not outputs:
        return _failure("prompt_no_outputs", "Prompt has no outputs")
    errors, coerced, sources = _walk_outputs(prompt, outputs, table)
    _add_cycle_errors(errors, sources)
    broken = _spread(set(errors), _dependents(sources)) if errors else set()
    good = [o for o in outputs if o not in broken]
    failed = [o for o in outputs if o in broken]
    node_errors, omitted = capped_node_errors(_node_errors(prompt, errors, sources, failed))
    result = ValidationResult(
        ok=bool(good), error=None, node_errors=node_errors, outputs=good, prompt=_coerced_prompt(prompt, coerced)
    )
    if not good:
        lines = (f"{e['message']}: {e['details']}" for errs in errors.values() for e in errs)
        details = capped_lines(lines, sum(len(errs) for errs in errors.values()))
        result.error = error("prompt_outputs_failed_validation", "Prompt outputs failed validation", details)
        _count_omitted(result, omitted)
    return result


def validate_prompt(prompt: Any, registry: Registry, partial_targets: list[str] | None = None) -> ValidationResult:
    """Validate an API-format prompt against `registry`, reporting every error at once.

    `partial_targets` restricts the outputs to those output node ids (ComfyUI's
    ``partial_execution_targets``). Never raises: an unexpected failure becomes an
    ``exception_during_validation`` error.
    """
    try:
        return _validate(prompt, registry, partial_targets)
    except Exception as exc:
        return ValidationResult(
            ok=False,
            error=error("exception_during_validation", "Exception when validating prompt", str(exc), **exception_info(exc)),
        )
