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
