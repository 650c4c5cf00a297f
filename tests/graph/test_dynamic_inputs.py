"""Growing inputs (ComfyUI's Autogrow): dotted pieces are validated, linked, cached and gathered like inputs."""

import pytest

from graph.dynamic_inputs import AUTOGROW, DynamicInputError, expand_dynamic_inputs
from graph.schema import InputSpec, NodeSchema

TEMPLATE = {"input": {"required": {"image": ["IMAGE", {}]}}, "prefix": "image", "min": 2, "max": 50}


def schema(**template) -> NodeSchema:
    spec = InputSpec(name="images", type=AUTOGROW, options={"template": {**TEMPLATE, **template}})
    return NodeSchema(class_type="Batch", inputs=(InputSpec(name="scale", type="FLOAT"), spec))


def test_the_first_min_pieces_are_required_and_present_ones_are_added():
    expanded = expand_dynamic_inputs(schema(), {"images.image0": ["1", 0], "images.image3": ["2", 0]})
    assert [(s.name, s.type, s.required) for s in expanded.inputs] == [
        ("scale", "FLOAT", True), ("images.image0", "IMAGE", True), ("images.image1", "IMAGE", True),
        ("images.image3", "IMAGE", False)]
    assert all(s.options.get("forceInput") for s in expanded.inputs[1:])


def test_a_schema_without_growing_inputs_is_returned_as_it_is():
    plain = NodeSchema(class_type="X", inputs=(InputSpec(name="a", type="INT"),))
    assert expand_dynamic_inputs(plain, {"a": 1}) is plain


def test_names_past_max_and_unrelated_keys_are_not_inputs():
    expanded = expand_dynamic_inputs(schema(max=3), {"images.image5": ["1", 0], "imagesX": 1, "images.other": 2})
    assert [s.name for s in expanded.inputs] == ["scale", "images.image0", "images.image1"]


def test_a_template_without_an_input_is_refused():
    with pytest.raises(DynamicInputError, match="'images' has no template input"):
        expand_dynamic_inputs(schema(input={}), {})
