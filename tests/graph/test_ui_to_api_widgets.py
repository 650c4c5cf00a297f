"""UI workflow → API prompt: where widget values come from (positions, names, control values, upload
buttons), including old files saved before a widget existed (test_ui_old_workflows.py has real files)."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from ui_base_graph import REG, base_graph, ksampler_inputs  # noqa: E402
from ui_stub_registry import SCHEMAS, StubRegistry, slot, ui_node, workflow  # noqa: E402

from graph.schema import InputSpec, NodeSchema, OutputSpec  # noqa: E402
from graph.ui_to_api import ui_to_api  # noqa: E402

# --- widget values --------------------------------------------------------------------------


@pytest.mark.parametrize("control", ["randomize", "fixed", "increment", "decrement", True, False])
def test_control_after_generate_value_is_skipped(control):
    result = ui_to_api(base_graph(ks_values=[156680208700286, control, 20, 8, "euler", "normal", 1]), REG)
    assert result["5"]["inputs"]["seed"] == 156680208700286
    assert result["5"]["inputs"]["steps"] == 20
    assert result["5"]["inputs"]["denoise"] == 1
    assert "control_after_generate" not in result["5"]["inputs"]


def test_files_from_before_the_control_widget_still_align():
    result = ui_to_api(base_graph(ks_values=[7, 30, 6.5, "heun", "karras", 0.5]), REG)
    assert {k: result["5"]["inputs"][k] for k in ("seed", "steps", "cfg", "sampler_name", "denoise")} == {
        "seed": 7,
        "steps": 30,
        "cfg": 6.5,
        "sampler_name": "heun",
        "denoise": 0.5,
    }


def test_extra_trailing_values_such_as_upload_buttons_are_ignored():
    wf = workflow(
        [
            ui_node(1, "LoadImage", outputs=["IMAGE", "MASK"], values=["cat.png", "image"]),
            ui_node(2, "PreviewImage", inputs=[slot("images", "IMAGE", 1)]),
        ],
        [[1, 1, 0, 2, 0, "IMAGE"]],
    )
    assert ui_to_api(wf, REG)["1"]["inputs"] == {"image": "cat.png"}


def test_list_values_are_wrapped_optional_defaults_and_force_input_sockets():
    wf = workflow(
        [
            ui_node(1, "EmptyLatentImage", outputs=["LATENT"], values=[64, 64, 1]),
            ui_node(2, "PrimitiveInt", outputs=["INT"], values=[3, "fixed"]),
            ui_node(
                3,
                "StubOptions",
                inputs=[slot("latent", "LATENT", 1), slot("count", "INT", 2)],
                outputs=["LATENT"],
                values=[["a", "c"]],
            ),
        ],
        [[1, 1, 0, 3, 0, "LATENT"], [2, 2, 0, 3, 1, "INT"]],
    )
    inputs = ui_to_api(wf, REG)["3"]["inputs"]
    assert inputs == {"tags": {"__value__": ["a", "c"]}, "note": "hello", "latent": ["1", 0], "count": ["2", 0]}


def test_widgets_values_saved_as_an_object():
    wf = workflow(
        [ui_node(1, "EmptyLatentImage", outputs=["LATENT"], values={"width": 768, "height": 640, "batch_size": 2})], []
    )
    assert ui_to_api(wf, REG)["1"]["inputs"] == {"width": 768, "height": 640, "batch_size": 2}


def test_converted_widget_link_wins_and_its_value_slot_is_still_consumed():
    wf = base_graph(
        extra_nodes=[ui_node(8, "PrimitiveInt", outputs=["INT"], values=[99, "fixed"])],
        extra_links=[[10, 8, 0, 5, 1, "INT"]],
        ks_inputs=ksampler_inputs(1, 4, 5, 6, seed_link=10),
    )
    # inputs: model, seed, positive, negative, latent_image -> slot indexes shift
    for link in wf["links"]:
        if link[3] == 5 and link[0] in (4, 5, 6):
            link[4] += 1
    inputs = ui_to_api(wf, REG)["5"]["inputs"]
    assert inputs["seed"] == ["8", 0]
    assert inputs["steps"] == 20 and inputs["cfg"] == 8 and inputs["denoise"] == 1
    assert inputs["latent_image"] == ["4", 0]
    assert list(inputs)[0] == "seed"  # keeps the widget position


def test_unlinked_converted_widget_keeps_its_value():
    wf = base_graph(ks_inputs=ksampler_inputs(1, 4, 5, 6) + [slot("seed", "INT", None, widget="seed")])
    assert ui_to_api(wf, REG)["5"]["inputs"]["seed"] == 5


def test_title_or_display_name():
    wf = base_graph()
    wf["nodes"][1]["title"] = "Positive"
    result = ui_to_api(wf, REG)
    assert result["2"]["_meta"] == {"title": "Positive"}
    assert result["3"]["_meta"] == {"title": "CLIP Text Encode (Prompt)"}


# --- old files: widgets added after the file was saved, old upload buttons ----------------------


@pytest.mark.parametrize(("values", "defaulted"), [
    ([], ["seed", "steps", "cfg", "sampler_name", "scheduler", "denoise"]),
    ([5, "fixed", 20, 8], ["sampler_name", "scheduler", "denoise"]),
    (None, ["seed", "steps", "cfg", "sampler_name", "scheduler", "denoise"]),
])
def test_widgets_saved_before_they_existed_get_their_defaults_with_a_note(values, defaulted):
    wf = base_graph()
    wf["nodes"][4]["widgets_values"] = values
    if values is None:
        del wf["nodes"][4]["widgets_values"]
    notes: list[str] = []
    inputs = ui_to_api(wf, REG, notes=notes)["5"]["inputs"]
    defaults = {"seed": 0, "steps": 20, "cfg": 8.0, "sampler_name": "euler", "scheduler": "simple", "denoise": 1.0}
    assert {name: inputs[name] for name in defaulted} == {name: defaults[name] for name in defaulted}
    if values:
        assert (inputs["seed"], inputs["steps"], inputs["cfg"]) == (5, 20, 8)
    assert len(notes) == len(defaulted)
    assert all(note.startswith("workflow node 5 ") and "of KSampler" in note and "default" in note for note in notes)
    assert f"none for '{defaulted[-1]}'" in notes[-1] and "using its default 1.0" in notes[-1]


def test_notes_are_only_for_required_widgets_and_are_optional_to_collect():
    wf = workflow([ui_node(1, "EmptyLatentImage", outputs=["LATENT"], values=[512, 512, 1]),
                   ui_node(2, "StubOptions", inputs=[slot("latent", "LATENT", 1), slot("count", "INT")],
                           values=[["a"]])],
                  [[1, 1, 0, 2, 0, "LATENT"]])
    notes: list[str] = []
    assert ui_to_api(wf, REG, notes=notes)["2"]["inputs"]["note"] == "hello"  # optional: default, no note
    assert notes == []
    assert ui_to_api(base_graph(ks_values=[]), REG)["5"]["inputs"]["steps"] == 20  # no list given: still converts


UPLOAD_OPTIONAL = NodeSchema(
    "StubUploadWithOption",
    (InputSpec("image", "COMBO", options={"image_upload": True}, choices=("a.png", "b.png")),
     InputSpec("channel", "COMBO", choices=("alpha", "red")),
     InputSpec("label", "STRING", required=False, options={"default": ""})),
    (OutputSpec("IMAGE", "IMAGE"),))
REG_UPLOAD = StubRegistry([*SCHEMAS, UPLOAD_OPTIONAL])


@pytest.mark.parametrize("marker", ["image", "choose file to upload"])
def test_an_old_upload_button_value_before_the_optional_widgets_is_skipped(marker):
    wf = workflow([ui_node(1, "StubUploadWithOption", outputs=["IMAGE"], values=["b.png", "red", marker, "mine"]),
                   ui_node(2, "PreviewImage", inputs=[slot("images", "IMAGE", 1)])],
                  [[1, 1, 0, 2, 0, "IMAGE"]])
    assert ui_to_api(wf, REG_UPLOAD)["1"]["inputs"] == {"image": "b.png", "channel": "red", "label": "mine"}


def test_without_the_button_value_the_optional_widget_still_reads_its_own():
    wf = workflow([ui_node(1, "StubUploadWithOption", outputs=["IMAGE"], values=["b.png", "red", "mine"]),
                   ui_node(2, "PreviewImage", inputs=[slot("images", "IMAGE", 1)])],
                  [[1, 1, 0, 2, 0, "IMAGE"]])
    assert ui_to_api(wf, REG_UPLOAD)["1"]["inputs"]["label"] == "mine"


@pytest.mark.parametrize("values", [["cat.png", "choose file to upload"], ["cat.png", "image", ""]])
def test_trailing_old_upload_entries_of_load_image_are_ignored(values):
    wf = workflow([ui_node(1, "LoadImage", outputs=["IMAGE", "MASK"], values=values),
                   ui_node(2, "PreviewImage", inputs=[slot("images", "IMAGE", 1)])],
                  [[1, 1, 0, 2, 0, "IMAGE"]])
    assert ui_to_api(wf, REG)["1"]["inputs"] == {"image": "cat.png"}
