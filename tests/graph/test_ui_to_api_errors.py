"""UI workflow → API prompt: bad documents give a WorkflowError naming the node and input."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from ui_base_graph import REG, base_graph, ksampler_inputs  # noqa: E402
from ui_stub_registry import slot, ui_node, workflow  # noqa: E402

from graph.document import WorkflowError  # noqa: E402
from graph.ui_to_api import ui_to_api  # noqa: E402

# --- bad input -------------------------------------------------------------------------------


def with_node_change(change):
    wf = base_graph()
    change(wf)
    return wf


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: [], "must be an object"),
        (lambda: workflow([], []) | {"nodes": {"1": {}}}, "'nodes' must be an array"),
        (lambda: workflow([3], []), r"nodes\[0\] must be an object"),
        (lambda: workflow([{"type": "KSampler"}], []), r"nodes\[0\] has no 'id'"),
        (lambda: workflow([{"id": True, "type": "KSampler"}], []), "id must be a number or a string"),
        (lambda: workflow([{"id": 1}], []), "node 1 .* has no 'type'"),
        (lambda: workflow([ui_node(1, "VAEDecode"), ui_node(1, "VAEDecode")], []), "node id 1 is used twice"),
        (lambda: with_node_change(lambda wf: wf["nodes"][0].update(mode="always")), "node 1 .*'mode' must be"),
        (lambda: with_node_change(lambda wf: wf["nodes"][0].update(inputs={"a": 1})), "node 1 .*'inputs' must be"),
        (lambda: with_node_change(lambda wf: wf["nodes"][0].update(outputs=[1])), r"node 1 .*outputs\[0\]"),
        (lambda: with_node_change(lambda wf: wf["nodes"][1].update(inputs=[7])), r"node 2 .*inputs\[0\] must be"),
        (lambda: with_node_change(lambda wf: wf["nodes"][1].update(inputs=[{"type": "CLIP"}])), "no 'name'"),
        (lambda: with_node_change(lambda wf: wf["nodes"][1]["inputs"][0].update(link=[1])), "'clip'.* link must be"),
        (lambda: with_node_change(lambda wf: wf["nodes"][0].update(widgets_values="x")), "'widgets_values' must be"),
        (lambda: with_node_change(lambda wf: wf.update(links={"a": 1})), r"links\['a'\] must be an array or an object"),
        (lambda: with_node_change(lambda wf: wf.update(links="x")), "'links' must be an array"),
        (lambda: with_node_change(lambda wf: wf["links"].append([1, 2, 3])), r"links\[9\] must have 6 items"),
        (lambda: with_node_change(lambda wf: wf["links"].append("x")), r"links\[9\] must be an array or an object"),
        (lambda: with_node_change(lambda wf: wf["links"].append({"id": 1})), r"links\[9\] is missing origin_id"),
        (lambda: with_node_change(lambda wf: wf["links"].append([50, 1, "a", 2, 0, "X"])), "origin_slot must be"),
        (lambda: with_node_change(lambda wf: wf["links"].append([50, 1, 0.5, 2, 0, "X"])), "origin_slot must be"),
    ],
)
def test_wrong_shapes_name_the_place(make, message):
    with pytest.raises(WorkflowError, match=message):
        ui_to_api(make(), REG)


def test_unknown_node_type_names_the_node_and_type():
    wf = base_graph(extra_nodes=[ui_node(8, "FancyUpscaler", values=[])])
    with pytest.raises(WorkflowError, match="node 8 .*unknown node type 'FancyUpscaler'") as info:
        ui_to_api(wf, REG)
    assert info.value.node_id == "8"


@pytest.mark.parametrize(
    ("type_", "hint"), [("workflow>MyGroup", "group node"), ("0fe56559-1cb1-4fe8-955a-15de80e086e9", "subgraph id")]
)
def test_unknown_type_hints(type_, hint):
    with pytest.raises(WorkflowError, match=hint):
        ui_to_api(base_graph(extra_nodes=[ui_node(8, type_)]), REG)


def test_link_from_a_missing_node():
    wf = base_graph()
    wf["links"][0][1] = 77
    with pytest.raises(WorkflowError, match="node 5 .*input 'model' is linked \\(link 1\\) from node 77") as info:
        ui_to_api(wf, REG)
    assert (info.value.node_id, info.value.input_name) == ("5", "model")


def test_input_using_a_link_that_is_not_in_the_table():
    wf = base_graph()
    wf["nodes"][4]["inputs"][0]["link"] = 500
    with pytest.raises(WorkflowError, match="node 5 .*input 'model' uses link 500"):
        ui_to_api(wf, REG)


def test_stale_links_nobody_uses_are_ignored():
    wf = base_graph()
    wf["links"].append([77, 123, 0, 456, 0, "MODEL"])
    assert set(ui_to_api(wf, REG)) == {"1", "2", "3", "4", "5", "6", "7"}


def test_output_index_out_of_range():
    wf = base_graph()
    wf["links"][0][2] = 5
    with pytest.raises(WorkflowError, match="input 'model' is linked to output 5 of node 1 .*has 3 output"):
        ui_to_api(wf, REG)


def test_a_missing_widget_value_without_any_default_is_an_error():
    """PrimitiveString's value has no default: a file without it cannot be read as the editor would."""
    wf = workflow([ui_node(1, "PrimitiveString", outputs=["STRING"], values=[]),
                   ui_node(2, "StubOptions", inputs=[slot("latent", "LATENT"), slot("count", "INT", 1)])],
                  [[1, 1, 0, 2, 1, "STRING"]])
    with pytest.raises(WorkflowError, match="node 1 .*no value for the widget input 'value' of PrimitiveString, "
                                            "which has no default") as info:
        ui_to_api(wf, REG)
    assert (info.value.node_id, info.value.input_name) == ("1", "value")


def test_circular_reroutes():
    wf = base_graph(
        extra_nodes=[
            ui_node(20, "Reroute", inputs=[slot("", "*", 21)], outputs=["MODEL"]),
            ui_node(21, "Reroute", inputs=[slot("", "*", 20)], outputs=["MODEL"]),
        ],
        extra_links=[[20, 20, 0, 21, 0, "MODEL"], [21, 21, 0, 20, 0, "MODEL"], [22, 21, 0, 5, 0, "MODEL"]],
        ks_inputs=ksampler_inputs(22, 4, 5, 6),
    )
    with pytest.raises(WorkflowError, match="node 5 .*'model' is linked in a circle"):
        ui_to_api(wf, REG)


def test_boundary_link_outside_a_subgraph():
    wf = base_graph()
    wf["links"][0][1] = -10
    with pytest.raises(WorkflowError, match="comes from a subgraph input but the node is not inside a subgraph"):
        ui_to_api(wf, REG)


def test_long_reroute_chains_and_large_documents_convert_without_recursion():
    count = 5000
    nodes = [ui_node(1, "EmptyLatentImage", outputs=["LATENT"], values=[64, 64, 1])]
    nodes += [ui_node(i, "Reroute", inputs=[slot("", "*", i)], outputs=["LATENT"]) for i in range(2, count)]
    nodes.append(
        ui_node(
            count,
            "LatentUpscaleBy",
            inputs=[slot("samples", "LATENT", count)],
            outputs=["LATENT"],
            values=["bilinear", 2.0],
        )
    )
    links = [[i, i - 1, 0, i, 0, "LATENT"] for i in range(2, count + 1)]
    result = ui_to_api(workflow(nodes, links), REG)
    assert result == {
        "1": {
            "inputs": {"width": 64, "height": 64, "batch_size": 1},
            "class_type": "EmptyLatentImage",
            "_meta": {"title": "Empty Latent Image"},
        },
        str(count): {
            "inputs": {"upscale_method": "bilinear", "scale_by": 2.0, "samples": ["1", 0]},
            "class_type": "LatentUpscaleBy",
            "_meta": {"title": "Upscale Latent By"},
        },
    }


def test_bypass_prefers_an_exact_type_over_a_wildcard_input():
    custom = ui_node(
        11,
        "SomeCustomNode",
        outputs=["IMAGE", "LATENT"],
        mode=4,
        inputs=[slot("anything", "*", 40), slot("image", "IMAGE", None), slot("latent", "LATENT", 41)],
    )
    wf = base_graph(
        extra_nodes=[custom],
        extra_links=[[40, 1, 0, 11, 0, "MODEL"], [41, 4, 0, 11, 2, "LATENT"], [42, 11, 1, 5, 3, "LATENT"]],
        ks_inputs=ksampler_inputs(1, 4, 5, 42),
    )
    assert ui_to_api(wf, REG)["5"]["inputs"]["latent_image"] == ["4", 0]


def test_widget_linked_to_a_muted_node_loses_its_value_too():
    muted = ui_node(8, "PrimitiveInt", outputs=["INT"], values=[99, "fixed"], mode=2)
    wf = base_graph(
        extra_nodes=[muted],
        extra_links=[[10, 8, 0, 5, 4, "INT"]],
        ks_inputs=ksampler_inputs(1, 4, 5, 6) + [slot("seed", "INT", 10, widget="seed")],
    )
    inputs = ui_to_api(wf, REG)["5"]["inputs"]
    assert "seed" not in inputs and inputs["steps"] == 20


def test_a_muted_reroute_still_passes_through_as_in_the_editor():
    wf = base_graph(
        extra_nodes=[ui_node(20, "Reroute", inputs=[slot("", "*", 20)], outputs=["MODEL"], mode=2)],
        extra_links=[[20, 1, 0, 20, 0, "MODEL"], [22, 20, 0, 5, 0, "MODEL"]],
        ks_inputs=ksampler_inputs(22, 4, 5, 6),
    )
    assert ui_to_api(wf, REG)["5"]["inputs"]["model"] == ["1", 0]
