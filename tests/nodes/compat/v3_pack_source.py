"""The source of a V3 custom node pack the V3 tests write into a tmp custom_nodes directory."""

PACK = '''
import asyncio
from pathlib import Path

from comfy_api.latest import ComfyExtension, io, ui

STAMP = Path(__file__).with_name("stamp.txt")


class Scale(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="V3Scale", display_name="V3 Scale", category="testing/v3", description="Scales an image.",
            is_experimental=True,
            inputs=[
                io.Image.Input("image"),
                io.Float.Input("factor", default=1.0, min=0.0, max=4.0, step=0.1, tooltip="multiplier"),
                io.Int.Input("steps", default=20, min=1, max=100, display_mode=io.NumberDisplay.slider),
                io.Combo.Input("mode", options=["multiply", "add"], default="multiply"),
                io.String.Input("note", multiline=True, default="", optional=True),
            ],
            outputs=[io.Image.Output(display_name="scaled", tooltip="the scaled image"), io.String.Output()],
            hidden=[io.Hidden.unique_id, io.Hidden.prompt],
        )

    @classmethod
    def execute(cls, image, factor, steps, mode, note=""):
        out = image * factor if mode == "multiply" else image + factor
        seen = ",".join(sorted(cls.hidden.prompt))
        return io.NodeOutput(out, f"{cls.hidden.unique_id}|{seen}|{mode}|{steps}|{note}")


class Text(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(node_id="V3Text", category="testing/v3", inputs=[io.String.Input("text")],
                         outputs=[io.String.Output()])

    @classmethod
    def execute(cls, text):
        return (text.upper(),)


class Switch(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(node_id="V3Switch", category="testing/v3",
                         inputs=[io.Boolean.Input("use_a", default=True),
                                 io.String.Input("a", lazy=True, force_input=True),
                                 io.String.Input("b", lazy=True, force_input=True)],
                         outputs=[io.String.Output()])

    @classmethod
    def check_lazy_status(cls, use_a, a=None, b=None):
        wanted = "a" if use_a else "b"
        return [wanted] if (a if use_a else b) is None else []

    @classmethod
    def execute(cls, use_a, a=None, b=None):
        return io.NodeOutput(a if use_a else b)


class Show(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(node_id="V3Show", category="testing/v3", is_output_node=True,
                         inputs=[io.String.Input("text", force_input=True)], outputs=[])

    @classmethod
    async def execute(cls, text):
        await asyncio.sleep(0)
        return io.NodeOutput(ui=ui.PreviewText(f"{text} ({sorted(cls.hidden.extra_pnginfo or {})})"))


class Even(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(node_id="V3Even", category="testing/v3",
                         inputs=[io.Int.Input("value", default=0, min=0, max=10)], outputs=[io.Int.Output()])

    @classmethod
    def validate_inputs(cls, value):
        return True if value % 2 == 0 else f"value must be even, got {value}"

    @classmethod
    def execute(cls, value):
        return io.NodeOutput(value // 2)


class Stamped(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(node_id="V3Stamped", category="testing/v3", inputs=[io.String.Input("key")],
                         outputs=[io.String.Output()])

    @classmethod
    def fingerprint_inputs(cls, key):
        return STAMP.read_text()

    @classmethod
    def execute(cls, key):
        return io.NodeOutput(f"{key}:{STAMP.read_text()}")


class Preview(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(node_id="V3Preview", category="testing/v3", is_output_node=True,
                         inputs=[io.Image.Input("images")])

    @classmethod
    def execute(cls, images):
        return io.NodeOutput(ui=ui.PreviewImage(images, cls=cls))


class V3TestExtension(ComfyExtension):
    async def on_load(self):
        STAMP.write_text("one")

    async def get_node_list(self):
        return [Scale, Text, Switch, Show, Even, Stamped, Preview]


async def comfy_entrypoint():
    return V3TestExtension()
'''

BROKEN = '''
from comfy_api.latest import ComfyExtension


async def comfy_entrypoint() -> ComfyExtension:
    raise RuntimeError("the extension cannot start")
'''

BOTH = '''
from comfy_api.v0_0_2 import ComfyExtension, io


class Classic:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"x": ("INT", {"default": 1})}}

    RETURN_TYPES = ("INT",)
    FUNCTION = "run"
    CATEGORY = "testing"

    def run(self, x):
        return (x,)


class Pinned(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(node_id="V3Pinned", inputs=[io.Int.Input("x")], outputs=[io.Int.Output()])

    @classmethod
    def execute(cls, x):
        return io.NodeOutput(x)


class Extra(Pinned):
    @classmethod
    def define_schema(cls):
        return io.Schema(node_id="V3Extra", inputs=[io.Int.Input("x")], outputs=[io.Int.Output()])


NODE_CLASS_MAPPINGS = {"ClassicBoth": Classic, "V3Mapped": Pinned}


class Extension(ComfyExtension):
    async def get_node_list(self):
        return [Pinned, Extra]


async def comfy_entrypoint():
    return Extension()
'''

# A V3 pack using the dynamic types (MatchType, DynamicCombo, Autogrow), a MultiCombo and node expansion.
DYNAMIC = '''
import torch

from comfy_api.latest import ComfyExtension, io, ui
from comfy_execution.graph_utils import GraphBuilder

PICTURE = io.MatchType.Template("picture", allowed_types=[io.Image, io.Mask])


class MatchSwitch(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(node_id="V3MatchSwitch", category="testing/v3",
                         inputs=[io.Boolean.Input("first", default=True),
                                 io.MatchType.Input("on_true", template=PICTURE, lazy=True),
                                 io.MatchType.Input("on_false", template=PICTURE, lazy=True)],
                         outputs=[io.MatchType.Output(template=PICTURE, display_name="chosen")])

    @classmethod
    def check_lazy_status(cls, first, on_true=None, on_false=None):
        wanted = "on_true" if first else "on_false"
        return [wanted] if (on_true if first else on_false) is None else []

    @classmethod
    def execute(cls, first, on_true=None, on_false=None):
        return io.NodeOutput(on_true if first else on_false)


class DynScale(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(node_id="V3DynScale", category="testing/v3", inputs=[
            io.Image.Input("image"),
            io.DynamicCombo.Input("mode", options=[
                io.DynamicCombo.Option("multiply", [io.Float.Input("factor", default=1.0, min=0.0, max=4.0)]),
                io.DynamicCombo.Option("offset", [io.Float.Input("amount", default=0.0, min=-1.0, max=1.0),
                                                  io.Combo.Input("sign", options=["+", "-"], optional=True)]),
            ]),
        ], outputs=[io.Image.Output(), io.String.Output(display_name="seen")])

    @classmethod
    def execute(cls, image, mode):
        if mode["mode"] == "multiply":
            out = image * mode["factor"]
        else:
            out = image + (mode["amount"] if mode.get("sign", "+") == "+" else -mode["amount"])
        return io.NodeOutput(out, repr(sorted(mode.items())))


class Stack(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(node_id="V3Stack", category="testing/v3", inputs=[
            io.Autogrow.Input("images", template=io.Autogrow.TemplatePrefix(io.Image.Input("image"), prefix="image",
                                                                            min=1, max=4)),
            io.Autogrow.Input("labels", optional=True, template=io.Autogrow.TemplateNames(
                io.String.Input("label"), names=["left", "right"], min=0)),
        ], outputs=[io.Image.Output(), io.String.Output()])

    @classmethod
    def execute(cls, images, labels):
        return io.NodeOutput(torch.cat(list(images.values())), f"{list(images)}|{sorted(labels.items())}")


class Tags(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(node_id="V3Tags", category="testing/v3",
                         inputs=[io.MultiCombo.Input("tags", options=["red", "green", "blue"], default=["red"],
                                                     placeholder="pick colours")],
                         outputs=[io.String.Output()])

    @classmethod
    def execute(cls, tags):
        return io.NodeOutput("+".join(tags))


class AddOne(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(node_id="V3AddOne", category="testing/v3", inputs=[io.Int.Input("x")],
                         outputs=[io.Int.Output()])

    @classmethod
    def execute(cls, x):
        return io.NodeOutput(x + 1)


class PlusTwo(io.ComfyNode):
    """Expands into two V3AddOne nodes."""

    @classmethod
    def define_schema(cls):
        return io.Schema(node_id="V3PlusTwo", category="testing/v3", enable_expand=True,
                         inputs=[io.Int.Input("x")], outputs=[io.Int.Output()])

    @classmethod
    def execute(cls, x):
        graph = GraphBuilder()
        first = graph.node("V3AddOne", x=x)
        second = graph.node("V3AddOne", x=first.out(0))
        return io.NodeOutput(second.out(0), expand=graph.finalize())


class Report(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(node_id="V3Report", category="testing/v3", is_output_node=True,
                         inputs=[io.AnyType.Input("value")])

    @classmethod
    def execute(cls, value):
        return io.NodeOutput(ui=ui.PreviewText(str(tuple(value.shape) if hasattr(value, "shape") else value)))


class DynamicExtension(ComfyExtension):
    async def get_node_list(self):
        return [MatchSwitch, DynScale, Stack, Tags, AddOne, PlusTwo, Report]


async def comfy_entrypoint():
    return DynamicExtension()
'''
