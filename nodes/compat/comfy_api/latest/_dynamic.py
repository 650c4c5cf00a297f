"""V3's dynamic socket types (part of `comfy_api.latest.io`): MatchType, Autogrow and DynamicCombo.

    template = io.MatchType.Template("T", allowed_types=[io.Image, io.Mask])
    io.MatchType.Input("value", template=template)      # takes IMAGE or MASK
    io.MatchType.Output(template=template)              # has the type of what `value` got
    io.Autogrow.Input("images", template=io.Autogrow.TemplatePrefix(io.Image.Input("image"), prefix="image"))
    io.DynamicCombo.Input("mode", options=[io.DynamicCombo.Option("scale", [io.Float.Input("factor")]), ...])

/object_info shows them as ComfyUI does (`["COMFY_AUTOGROW_V3", {"template": {...}}]`, ...). A prompt
sends the pieces under dotted names (`images.image0`, `mode.factor`); graph/dynamic_inputs.py and
graph/dynamic_combo.py expand them into ordinary inputs for validation, planning and the cache, and
the adapter (nodes/compat/comfy_api/adapter.py) nests them back for `execute`, as ComfyUI does:
`images={"image0": ..., "image1": ...}`, `mode={"mode": "scale", "factor": 2.0}`.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from nodes.compat.comfy_api.latest._sockets import (
    AnyType,
    ComfyTypeI,
    ComfyTypeIO,
    Input,
    Output,
    WidgetInput,
    comfytype,
)
from nodes.compat.comfy_api.latest._types import prune_dict

__all__ = ["Autogrow", "DynamicCombo", "DynamicInput", "DynamicOutput", "MatchType", "input_dict_v1"]

# ComfyUI's bound on the names one Autogrow input can have.
MAX_AUTOGROW_NAMES = 100


def input_dict_v1(inputs: Iterable[Input]) -> dict[str, dict[str, tuple]]:
    """Classic INPUT_TYPES sections for `inputs`: {"required": {id: (type, {options})}, "optional": ...}."""
    sections: dict[str, dict[str, tuple]] = {"required": {}}
    for item in inputs:
        options = item.as_dict()
        options.pop("optional", None)
        sections.setdefault("optional" if item.optional else "required", {})[item.id] = (item.get_io_type(), options)
    return sections


class DynamicInput(Input):
    """An input that stands for a set of inputs chosen per node (by the prompt's dotted names)."""


class DynamicOutput(Output):
    """An output whose shape is decided per node (declared for packs that subclass it)."""


@comfytype("COMFY_MATCHTYPE_V3")
class MatchType(ComfyTypeIO):
    """Inputs and outputs sharing one template: an output has the type its template's input received."""

    class Template:
        def __init__(self, template_id: str, allowed_types: Any = None) -> None:
            if allowed_types is None:
                allowed_types = [AnyType]
            if not isinstance(allowed_types, Iterable):
                allowed_types = [allowed_types]
            allowed_types = list(allowed_types)
            for kind in allowed_types:
                if not isinstance(getattr(kind, "io_type", None), str):
                    raise ValueError(f"io.MatchType.Template({template_id!r}): allowed types must be io types "
                                     f"(io.Image, io.Int, ...), got {kind!r}")
            self.template_id = template_id
            self.allowed_types = allowed_types

        def as_dict(self) -> dict[str, str]:
            return {"template_id": self.template_id,
                    "allowed_types": ",".join(kind.io_type for kind in self.allowed_types)}

    class Input(Input):
        def __init__(self, id: str, template: MatchType.Template, display_name: str | None = None,
                     optional: bool = False, tooltip: str | None = None, lazy: bool | None = None,
                     extra_dict: dict | None = None, raw_link: bool | None = None,
                     advanced: bool | None = None) -> None:
            super().__init__(id, display_name, optional, tooltip, lazy, extra_dict, raw_link, advanced)
            self.template = template

        def as_dict(self) -> dict[str, Any]:
            return super().as_dict() | {"template": self.template.as_dict()}

    class Output(Output):
        def __init__(self, template: MatchType.Template, id: str | None = None, display_name: str | None = None,
                     tooltip: str | None = None, is_output_list: bool = False) -> None:
            if not id and not display_name:
                display_name = "MATCHTYPE"
            super().__init__(id, display_name, tooltip, is_output_list)
            self.template = template

        def as_dict(self) -> dict[str, Any]:
            return super().as_dict() | {"template": self.template.as_dict()}


class _AutogrowTemplate:
    """The one input an Autogrow repeats (a widget becomes a socket: forceInput), and the names it may take."""

    def __init__(self, input: Input) -> None:  # noqa: A002 - ComfyUI's keyword
        if not isinstance(input, Input) or isinstance(input, DynamicInput):
            raise ValueError(f"an Autogrow template needs one plain io.<Type>.Input, got {input!r}")
        self.input = copy.copy(input)
        if isinstance(self.input, WidgetInput):
            self.input.force_input = True
        self.names: list[str] = []

    def get_all(self) -> list[Input]:
        inputs = []
        for name in self.names:
            item = copy.copy(self.input)
            item.id = name
            inputs.append(item)
        return inputs

    def as_dict(self) -> dict[str, Any]:
        return {"input": input_dict_v1([self.input])}

    def validate(self) -> None:
        self.input.validate()


class _TemplatePrefix(_AutogrowTemplate):
    """Names `prefix0`, `prefix1`, ... up to `max`; the first `min` are required (when the input is)."""

    def __init__(self, input: Input, prefix: str, min: int = 1, max: int = 10) -> None:  # noqa: A002
        super().__init__(input)
        if not (0 <= min and 1 <= max <= MAX_AUTOGROW_NAMES):
            raise ValueError(f"Autogrow.TemplatePrefix: need min >= 0 and 1 <= max <= {MAX_AUTOGROW_NAMES}, "
                             f"got min={min}, max={max}")
        self.prefix, self.min, self.max = prefix, min, max
        self.names = [f"{prefix}{index}" for index in range(max)]

    def as_dict(self) -> dict[str, Any]:
        return super().as_dict() | prune_dict({"prefix": self.prefix, "min": self.min, "max": self.max})


class _TemplateNames(_AutogrowTemplate):
    """The given names (at most 100); the first `min` are required (when the input is)."""

    def __init__(self, input: Input, names: list[str], min: int = 1) -> None:  # noqa: A002
        super().__init__(input)
        if min < 0:
            raise ValueError(f"Autogrow.TemplateNames: need min >= 0, got {min}")
        self.names = list(names)[:MAX_AUTOGROW_NAMES]
        self.min = min

    def as_dict(self) -> dict[str, Any]:
        return super().as_dict() | prune_dict({"names": self.names, "min": self.min})


@comfytype("COMFY_AUTOGROW_V3")
class Autogrow(ComfyTypeI):
    """A growing list of one template input; `execute` gets them as one dict by the names that arrived."""

    Type = dict
    TemplatePrefix = _TemplatePrefix
    TemplateNames = _TemplateNames

    class Input(DynamicInput):
        def __init__(self, id: str, template: _AutogrowTemplate, display_name: str | None = None,
                     optional: bool = False, tooltip: str | None = None, lazy: bool | None = None,
                     extra_dict: dict | None = None) -> None:
            super().__init__(id, display_name, optional, tooltip, lazy, extra_dict)
            if not isinstance(template, _AutogrowTemplate):
                raise ValueError(f"io.Autogrow.Input({id!r}): template must be io.Autogrow.TemplatePrefix(...) or "
                                 f"io.Autogrow.TemplateNames(...), got {template!r}")
            self.template = template

        def as_dict(self) -> dict[str, Any]:
            return super().as_dict() | {"template": self.template.as_dict()}

        def get_all(self) -> list[Input]:
            return [self, *self.template.get_all()]

        def validate(self) -> None:
            self.template.validate()


@comfytype("COMFY_DYNAMICCOMBO_V3")
class DynamicCombo(ComfyTypeI):
    """A choice among keys, each bringing its own inputs; `execute` gets {id: key, **that key's inputs}."""

    Type = dict

    class Option:
        def __init__(self, key: str, inputs: list[Input]) -> None:
            self.key = key
            self.inputs = list(inputs)

        def as_dict(self) -> dict[str, Any]:
            return {"key": self.key, "inputs": input_dict_v1(self.inputs)}

    class Input(DynamicInput):
        def __init__(self, id: str, options: list[DynamicCombo.Option], display_name: str | None = None,
                     optional: bool = False, tooltip: str | None = None, lazy: bool | None = None,
                     extra_dict: dict | None = None) -> None:
            super().__init__(id, display_name, optional, tooltip, lazy, extra_dict)
            self.options = list(options)

        def as_dict(self) -> dict[str, Any]:
            return super().as_dict() | {"options": [option.as_dict() for option in self.options]}

        def get_all(self) -> list[Input]:
            return [self, *(item for option in self.options for item in option.inputs)]

        def validate(self) -> None:
            keys = [getattr(option, "key", None) for option in self.options]
            if not keys or not all(isinstance(key, str) for key in keys) or len(set(keys)) != len(keys):
                raise ValueError(f"io.DynamicCombo.Input({self.id!r}): options need distinct string keys "
                                 f"(io.DynamicCombo.Option(key, inputs)), got {keys!r}")
            for option in self.options:
                ids = [item.id for item in option.inputs]
                if len(set(ids)) != len(ids):
                    raise ValueError(f"io.DynamicCombo.Input({self.id!r}), option {option.key!r}: input ids "
                                     f"repeat: {ids}")
                for item in option.inputs:
                    if isinstance(item, DynamicInput):  # graph/dynamic_combo.py expands one level
                        raise ValueError(f"io.DynamicCombo.Input({self.id!r}), option {option.key!r}: a dynamic "
                                         f"input ({item.id!r}) inside an option is not supported")
                    item.validate()
