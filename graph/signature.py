"""Structural signatures: the cache key of a node's outputs.

A node's signature is a digest of its class type, schema version, literal inputs (by
name, as canonical JSON), change fingerprint (ComfyUI's IS_CHANGED), the signatures of
the nodes it links to (with the output index), and its own id only when the node is
not idempotent or takes the hidden UNIQUE_ID. Two identical sub-graphs under other
node ids therefore share signatures, and a changed literal changes exactly the
signatures downstream of it.

Values that have no canonical JSON form (objects, NaN) and fingerprints that raise are
replaced by a fresh random token, so they never match anything: the node always re-runs.
Signatures are computed once per node per prompt, dependencies first, without recursion.
"""

from __future__ import annotations

import hashlib
import json
import math
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from graph.dynamic_inputs import expand_dynamic_inputs
from graph.plan import Link
from graph.prompt import node_inputs, unwrap_literal
from graph.schema import NodeSchema, NodeType

_encode_string = json.encoder.encode_basestring


def never_equal() -> str:
    """A token that equals no other token ever made."""
    return "!unique:" + uuid.uuid4().hex


def canonical(value: Any) -> str:
    """Canonical JSON text of a value, or a never-equal token when it has none."""
    kind = type(value)
    if kind is str:
        return _encode_string(value)
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return str(value) if -_BIG < value < _BIG else _canonical_json(value)
    if kind is float:
        return repr(value) if math.isfinite(value) else never_equal()
    if value is None:
        return "null"
    return _canonical_json(value)


_BIG = 10**300


def _canonical_json(value: Any) -> str:
    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError):
        return never_equal()


def _fingerprint(node: dict, node_type: NodeType, literals: dict[str, Any]) -> str:
    if "is_changed" in node:
        return canonical(node["is_changed"])
    try:
        return canonical(node_type.fingerprint(literals))
    except Exception:
        return never_equal()


def uses_node_id(schema: NodeSchema) -> bool:
    """True when the node id is part of the cache key (NOT_IDEMPOTENT or hidden UNIQUE_ID)."""
    return schema.not_idempotent or any(kind == "UNIQUE_ID" for _, kind in schema.hidden)


def node_signature(
    node_id: str, node: dict, schema: NodeSchema, node_type: NodeType, links: list[Link], signatures: Mapping[str, str]
) -> str:
    """The signature of one node, given the signatures of the nodes it links to.

    The digest is taken over a JSON array of canonical tokens (so it is unambiguous):
    class type, version, node id or "", fingerprint, then per declared input in name
    order its name, 0 and the literal, or its name, 1 and "<source signature>:<index>".
    """
    inputs = node_inputs(node)
    linked = {name: f"{signatures[src]}:{index}" for name, src, index in links}
    literals: dict[str, Any] = {}
    for spec in expand_dynamic_inputs(schema, inputs).inputs:
        name = spec.name
        if name in linked:
            literals[name] = None
        elif name in inputs:
            literals[name] = unwrap_literal(inputs[name])
    tokens = [
        _encode_string(schema.class_type),
        _encode_string(schema.version),
        _encode_string(node_id if uses_node_id(schema) else ""),
        _fingerprint(node, node_type, literals),
    ]
    for name in sorted(literals):
        link = linked.get(name)
        if link is None:
            tokens += (_encode_string(name), "0", canonical(literals[name]))
        else:
            tokens += (_encode_string(name), "1", '"' + link + '"')
    text = "[" + ",".join(tokens) + "]"
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=20).hexdigest()


def compute_signatures(
    prompt: Mapping[str, dict],
    order: list[str],
    links: Mapping[str, list[Link]],
    type_of: Callable[[str], tuple[NodeType, NodeSchema]],
) -> dict[str, str]:
    """Signatures of the nodes in `order` (dependencies first); `type_of(class_type)` gives (type, schema)."""
    signatures: dict[str, str] = {}
    for node_id in order:
        node = prompt[node_id]
        node_type, schema = type_of(node["class_type"])
        signatures[node_id] = node_signature(node_id, node, schema, node_type, links.get(node_id, []), signatures)
    return signatures
