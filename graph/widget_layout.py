"""Where each widget value sits in a node's ``widgets_values`` (ComfyUI's editor layout).

The editor creates one widget per widget-capable input (INT, FLOAT, STRING, BOOLEAN,
combo; not ``forceInput``) in the node definition's input order, required then
optional. An input whose options have ``control_after_generate`` gets one more widget
right after it (``fixed``/``increment``/``decrement``/``randomize``; some saved files
hold a boolean there) whose value is saved but never sent to the backend. Upload
buttons and similar extras are appended after all of them and are ignored here; the old
editors put the upload button's value (``"image"``, or ``"choose file to upload"``) after
the last required widget, before the optional ones, and it is skipped there too.

A file saved before a widget existed has no value for it: as ComfyUI's editor, the widget
then gets its default (a note says so) instead of the file being refused; only a widget
with no default at all is an error.

`read_widget_values` maps a saved node's values to input names; `write_widget_values`
builds the array for a node from API inputs. Both conversions use this one layout.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graph.prompt import is_link, unwrap_literal
from graph.schema import InputSpec, NodeSchema
from graph.workflow_error import WorkflowError

CONTROL_VALUES = frozenset({"fixed", "increment", "decrement", "randomize"})
DEFAULT_CONTROL_VALUE = "fixed"
# Options that give a combo an upload button, and the values old editors saved for that button.
UPLOAD_OPTIONS = ("image_upload", "video_upload", "audio_upload")
UPLOAD_MARKERS = frozenset({"image", "video", "audio", "choose file to upload"})


def widget_inputs(schema: NodeSchema) -> list[InputSpec]:
    """The inputs that own a widget, in widget order (required first, then optional)."""
    required = [s for s in schema.inputs if s.required and s.is_widget]
    optional = [s for s in schema.inputs if not s.required and s.is_widget]
    return required + optional


def has_control_widget(spec: InputSpec) -> bool:
    return bool(spec.options.get("control_after_generate"))


def looks_like_control_value(value: Any) -> bool:
    """A saved control_after_generate value: one of the four modes, or a boolean (older saves)."""
    return isinstance(value, bool) or (isinstance(value, str) and value in CONTROL_VALUES)


def default_widget_value(spec: InputSpec) -> Any:
    """What the editor shows for a fresh widget: the declared default, else the first choice, else None."""
    if "default" in spec.options:
        return spec.options["default"]
    if spec.choices:
        return spec.choices[0]
    return None


def has_upload_button(spec: InputSpec) -> bool:
    return any(spec.options.get(option) is True for option in UPLOAD_OPTIONS)


def _read_positional(specs: list[InputSpec], values: list) -> dict[str, Any]:
    """Values by name, as far as the list reaches."""
    found: dict[str, Any] = {}
    index = 0
    upload = any(has_upload_button(spec) for spec in specs)
    for position, spec in enumerate(specs):
        # The old editors' upload button value sits after the last required widget.
        first_optional = not spec.required and (position == 0 or specs[position - 1].required)
        if upload and first_optional and index < len(values) and _is_upload_marker(values[index]):
            index += 1
        if index >= len(values):
            break
        found[spec.name] = values[index]
        index += 1
        # A control value follows its input; files from before the control widget existed lack it.
        if has_control_widget(spec) and index < len(values) and looks_like_control_value(values[index]):
            index += 1
    return found


def _is_upload_marker(value: Any) -> bool:
    return isinstance(value, str) and value in UPLOAD_MARKERS


def read_widget_values(
    schema: NodeSchema,
    values: list | dict | None,
    named: Mapping[str, Any] | None,
    *,
    node_id: str,
    where: str,
    specs: list[InputSpec] | None = None,
    notes: list[str] | None = None,
) -> dict[str, Any]:
    """Map a saved node's widget values to input names, in widget order.

    `values` is the node's ``widgets_values`` (an array, or an object keyed by widget
    name as some custom nodes save it); `named` is the newer editor's
    ``widgets_values_named`` when present, preferred name by name. A widget with no
    saved value takes its default, as the editor does for inputs added after the file was
    saved (a required one with a sentence appended to `notes`); a required widget without
    any default is a `WorkflowError`, an optional one is left out.
    `specs` may pass a precomputed `widget_inputs(schema)`.
    """
    if specs is None:
        specs = widget_inputs(schema)
    by_name: dict[str, Any] = dict(named or {})
    if isinstance(values, dict):
        by_name = {**values, **by_name}
        positional: dict[str, Any] = {}
    else:
        positional = _read_positional(specs, values or [])
    result: dict[str, Any] = {}
    for spec in specs:
        if spec.name in by_name:
            result[spec.name] = by_name[spec.name]
        elif spec.name in positional:
            result[spec.name] = positional[spec.name]
        elif "default" in spec.options or spec.choices:
            result[spec.name] = default_widget_value(spec)
            if spec.required and notes is not None:
                have = len(values) if isinstance(values, list) else 0
                notes.append(
                    f"{where}: widgets_values has {have} value(s) and none for '{spec.name}' of "
                    f"{schema.class_type} (saved before the widget existed?); using its default "
                    f"{result[spec.name]!r}"
                )
        elif spec.required:
            have = len(values) if isinstance(values, list) else 0
            raise WorkflowError(
                f"{where}: widgets_values has {have} value(s) and no value for the widget input "
                f"'{spec.name}' of {schema.class_type}, which has no default (expected {len(specs)} widget "
                f"value(s) in the order {', '.join(s.name for s in specs)})",
                node_id=node_id,
                input_name=spec.name,
            )
    return result


def write_widget_values(schema: NodeSchema, inputs: Mapping[str, Any]) -> list:
    """The ``widgets_values`` array for a node whose API inputs are `inputs`.

    Literal values are written as they are (a ``{"__value__": [...]}`` wrapper is
    removed); a linked or absent widget input gets its default. A ``"fixed"`` control
    value follows each input that declares ``control_after_generate``.
    """
    out: list = []
    for spec in widget_inputs(schema):
        value = inputs.get(spec.name)
        if spec.name not in inputs or is_link(value):
            out.append(default_widget_value(spec))
        else:
            out.append(unwrap_literal(value))
        if has_control_widget(spec):
            out.append(DEFAULT_CONTROL_VALUE)
    return out
