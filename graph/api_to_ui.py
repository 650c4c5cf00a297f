"""API prompt → UI workflow (version 0.4) that ComfyUI's editor opens, with an automatic layout.

Each API node becomes a UI node: sockets for the non-widget inputs, a converted-widget
socket (``widget: {name}``) for each widget input that is linked, outputs listing their
links, and ``widgets_values`` in the editor's layout (`graph.widget_layout`: schema
order, a ``"fixed"`` control value after ``control_after_generate`` inputs, defaults
for linked widgets). Numeric API ids are kept; other ids (``"12:5"``, ``"a"``) get new
integers after the largest numeric id, and ``extra.api_node_ids`` maps them back.
``_meta.title`` becomes the node title when it differs from the display name.

Converting back with `graph.ui_to_api.ui_to_api` gives the same prompt, except for
what the UI format cannot hold: literal values of inputs the schema does not declare,
and optional widget inputs the prompt left out (they come back with their default).
"""

from __future__ import annotations

from typing import Any

from graph.layout import estimate_node_size, layered_layout
from graph.prompt import is_link, link_index
from graph.schema import NodeSchema
from graph.widget_layout import has_control_widget, widget_inputs, write_widget_values
from graph.workflow_error import WorkflowError


def _ordered_inputs(schema: NodeSchema):
    return [s for s in schema.inputs if s.required] + [s for s in schema.inputs if not s.required]


def _assign_ids(prompt: dict) -> dict[str, int]:
    numeric = {}
    for api_id in prompt:
        if api_id.isascii() and api_id.isdigit() and str(int(api_id)) == api_id:
            numeric[api_id] = int(api_id)
    next_id = max(numeric.values(), default=0) + 1
    ids = {}
    for api_id in prompt:
        if api_id in numeric:
            ids[api_id] = numeric[api_id]
        else:
            ids[api_id] = next_id
            next_id += 1
    return ids


def _check_shape(prompt: Any) -> None:
    if not isinstance(prompt, dict):
        raise WorkflowError(f"an API prompt must be an object of nodes, not {type(prompt).__name__}")
    for api_id, node in prompt.items():
        if not isinstance(api_id, str):
            raise WorkflowError(f"node id {api_id!r} must be a string, as JSON object keys are")
        if not isinstance(node, dict):
            raise WorkflowError(f"node '{api_id}' must be an object, not {type(node).__name__}", node_id=api_id)
        if not isinstance(node.get("class_type"), str):
            raise WorkflowError(f"node '{api_id}' has no class_type string", node_id=api_id)
        if not isinstance(node.get("inputs", {}), dict):
            raise WorkflowError(f"node '{api_id}': 'inputs' must be an object", node_id=api_id)


def _schemas(prompt: dict, registry: Any) -> dict[str, NodeSchema]:
    schemas = {}
    for api_id, node in prompt.items():
        class_type = node["class_type"]
        if class_type not in schemas:
            node_type = registry.get(class_type)
            if node_type is None:
                raise WorkflowError(f"node '{api_id}': unknown node type '{class_type}'", node_id=api_id)
            schemas[class_type] = node_type.schema()
    return schemas


class _Builder:
    def __init__(self, prompt: dict, registry: Any) -> None:
        _check_shape(prompt)
        self.prompt = prompt
        self.schemas = _schemas(prompt, registry)
        self.ids = _assign_ids(prompt)
        self.links: list[list] = []
        self.nodes: dict[str, dict] = {}

    def origin_type(self, api_id: str, name: str, link: list) -> tuple[str, int, str]:
        source, slot = link[0], link_index(link[1])
        if source not in self.prompt:
            raise WorkflowError(
                f"node '{api_id}': input '{name}' is linked to node '{source}', which is not in the prompt",
                node_id=api_id,
                input_name=name,
            )
        outputs = self.schemas[self.prompt[source]["class_type"]].outputs
        if slot is None or not 0 <= slot < len(outputs):
            raise WorkflowError(
                f"node '{api_id}': input '{name}' is linked to output {link[1]!r} of node '{source}' "
                f"({self.prompt[source]['class_type']}), which has {len(outputs)} output(s)",
                node_id=api_id,
                input_name=name,
            )
        return source, slot, outputs[slot].type

    def add_link(self, api_id: str, name: str, link: list, target_slot: int) -> int:
        source, slot, link_type = self.origin_type(api_id, name, link)
        link_id = len(self.links) + 1
        self.links.append([link_id, self.ids[source], slot, self.ids[api_id], target_slot, link_type])
        return link_id

    def input_slots(self, api_id: str, schema: NodeSchema, inputs: dict) -> list[dict]:
        slots: list[dict] = []
        declared = set()
        for spec in _ordered_inputs(schema):
            declared.add(spec.name)
            value = inputs.get(spec.name)
            linked = is_link(value)
            if spec.is_widget and not linked:
                continue
            slot: dict[str, Any] = {"name": spec.name, "type": spec.type}
            if spec.is_widget:
                slot["widget"] = {"name": spec.name}
            slot["link"] = self.add_link(api_id, spec.name, value, len(slots)) if linked else None
            slots.append(slot)
        for name, value in inputs.items():  # links to inputs the schema does not declare
            if name not in declared and is_link(value):
                slots.append({"name": name, "type": "*", "link": self.add_link(api_id, name, value, len(slots))})
        return slots

    def build_node(self, api_id: str) -> dict:
        api_node = self.prompt[api_id]
        class_type = api_node["class_type"]
        schema = self.schemas[class_type]
        inputs = api_node.get("inputs", {})
        slots = self.input_slots(api_id, schema, inputs)
        widgets = widget_inputs(schema)
        display = schema.display_name or class_type
        meta = api_node.get("_meta")
        title = meta.get("title") if isinstance(meta, dict) else None
        node: dict[str, Any] = {
            "id": self.ids[api_id],
            "type": class_type,
            "pos": [0, 0],
            "size": list(
                estimate_node_size(
                    title if isinstance(title, str) and title else display,
                    sum(1 for s in slots if "widget" not in s),
                    len(schema.outputs),
                    len(widgets) + sum(1 for s in widgets if has_control_widget(s)),
                    sum(1 for s in widgets if s.options.get("multiline")),
                )
            ),
            "flags": {},
            "order": 0,
            "mode": 0,
            "inputs": slots,
            "outputs": [
                {"name": out.name, "type": out.type, "links": None, "slot_index": i}
                for i, out in enumerate(schema.outputs)
            ],
            "properties": {"Node name for S&R": class_type},
        }
        if widgets:
            node["widgets_values"] = write_widget_values(schema, inputs)
        if isinstance(title, str) and title and title != display:
            node["title"] = title
        return node

    def build(self) -> dict:
        for api_id in self.prompt:
            self.nodes[api_id] = self.build_node(api_id)
        by_ui_id = {node["id"]: node for node in self.nodes.values()}
        for link_id, origin, slot, _target, _target_slot, _type in self.links:
            output = by_ui_id[origin]["outputs"][slot]
            output["links"] = [*(output["links"] or []), link_id]
        order = list(self.nodes)
        edges = [(link[1], link[3]) for link in self.links]
        ui_order = [self.ids[api_id] for api_id in order]
        sizes = {node["id"]: tuple(node["size"]) for node in self.nodes.values()}
        positions = layered_layout(ui_order, sizes, edges)
        ranked = sorted(ui_order, key=lambda ui_id: (positions[ui_id][0], positions[ui_id][1]))
        for rank, ui_id in enumerate(ranked):
            by_ui_id[ui_id]["pos"] = list(positions[ui_id])
            by_ui_id[ui_id]["order"] = rank
        extra: dict[str, Any] = {"ds": {"scale": 1, "offset": [0, 0]}}
        renamed = {str(ui_id): api_id for api_id, ui_id in self.ids.items() if str(ui_id) != api_id}
        if renamed:
            extra["api_node_ids"] = renamed
        return {
            "last_node_id": max(self.ids.values(), default=0),
            "last_link_id": len(self.links),
            "nodes": list(self.nodes.values()),
            "links": self.links,
            "groups": [],
            "config": {},
            "extra": extra,
            "version": 0.4,
        }


def api_to_ui(prompt: dict, registry: Any) -> dict:
    """Convert an API prompt to a UI workflow (version 0.4) with a layered, non-overlapping layout.

    Raises `WorkflowError` naming the node and input for wrong shapes, unknown node
    types, links to missing nodes and output indexes out of range.
    """
    return _Builder(prompt, registry).build()
