"""Stub node types (graph.schema.NodeType) and a stub registry for the server tests.

They keep the server tests independent of nodes/: a fast constant, an adder, a slow node
that reports progress (and previews) per step, failing nodes, and output nodes that write
an image into the output folder.
"""

from __future__ import annotations

import errno
import io
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from PIL import Image

from graph.context import PreviewImage
from graph.schema import InputSpec, NodeOutput, NodeSchema, OutputSpec


class StubNode:
    """Base: a schema plus `run(ctx, **inputs) -> NodeOutput`."""

    schema_value: NodeSchema

    def schema(self) -> NodeSchema:
        return self.schema_value

    def fingerprint(self, inputs: Mapping[str, Any]) -> Any:
        return None

    def validate(self, inputs, input_types):
        return []

    def check_lazy_status(self, context, inputs):
        return []

    def execute(self, context, inputs) -> NodeOutput:
        return self.run(context, **inputs)


def _int(name: str, default: int = 0, required: bool = True, **options) -> InputSpec:
    return InputSpec(name, "INT", required, {"default": default, "min": -(2**31), "max": 2**31, **options})


class Const(StubNode):
    schema_value = NodeSchema("Const", (_int("value"),), (OutputSpec("INT", "INT"),))

    def run(self, ctx, value):
        return NodeOutput((value,))


class Add(StubNode):
    schema_value = NodeSchema("Add", (InputSpec("a", "INT"), InputSpec("b", "INT")), (OutputSpec("INT", "INT"),))

    def run(self, ctx, a, b):
        return NodeOutput((a + b,))


class Slow(StubNode):
    """Sleeps `delay` seconds per step, reporting progress (and a JPEG preview when `preview`)."""

    schema_value = NodeSchema("Slow", (InputSpec("value", "INT"), _int("steps", 5), _int("delay_ms", 50),
                                       _int("preview", 0)), (OutputSpec("INT", "INT"),))

    def run(self, ctx, value, steps=5, delay_ms=50, preview=0):
        frame = None
        if preview:
            buf = io.BytesIO()
            Image.new("RGB", (8, 8), (200, 10, 10)).save(buf, "JPEG")
            frame = PreviewImage("JPEG", buf.getvalue())
        for step in range(steps):
            time.sleep(delay_ms / 1000)
            ctx.progress(step + 1, steps, frame)
        return NodeOutput((value,))


class Fail(StubNode):
    schema_value = NodeSchema("Fail", (InputSpec("value", "INT"),), (OutputSpec("INT", "INT"),))

    def run(self, ctx, value):
        raise RuntimeError("stub node failed on purpose")


class WeirdBaseException(BaseException):
    """Not an Exception: checks that the worker survives BaseException subclasses."""


class Weird(StubNode):
    schema_value = NodeSchema("Weird", (InputSpec("value", "INT"),), (OutputSpec("INT", "INT"),))

    def run(self, ctx, value):
        raise WeirdBaseException("odd failure")


class Show(StubNode):
    """Output node: ui {"value": [v]}."""

    schema_value = NodeSchema("Show", (InputSpec("value", "INT"),), (), output_node=True)

    def run(self, ctx, value):
        return NodeOutput((), {"value": [value]})


class SaveImage(StubNode):
    """Output node writing a small PNG whose red channel is the value, into output/<subfolder>."""

    schema_value = NodeSchema("SaveImage", (InputSpec("value", "INT"),
                                            InputSpec("filename_prefix", "STRING", True, {"default": "stub"})),
                              (), output_node=True)

    def run(self, ctx, value, filename_prefix="stub"):
        out = Path(ctx.runtime.folders.output_dir)
        out.mkdir(parents=True, exist_ok=True)
        name = f"{filename_prefix}_{ctx.prompt_id[:8]}_{ctx.node_id}.png"
        Image.new("RGBA", (16, 12), (value % 256, 0, 0, 128)).save(out / name)
        return NodeOutput((), {"images": [{"filename": name, "subfolder": "", "type": "output"}]})


class DiskFull(StubNode):
    """Output node whose save hits ENOSPC; it removes its partial file as nodes must."""

    schema_value = NodeSchema("DiskFull", (InputSpec("value", "INT"),), (), output_node=True)

    def run(self, ctx, value):
        path = Path(ctx.runtime.folders.output_dir) / "partial.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            path.write_bytes(b"\x89PNG partial")
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError:
            path.unlink(missing_ok=True)
            raise


ALL_NODES = (Const, Add, Slow, Fail, Weird, Show, SaveImage, DiskFull)


def _object_info(schema: NodeSchema) -> dict:
    required = {i.name: [i.type, dict(i.options)] for i in schema.inputs if i.required}
    optional = {i.name: [i.type, dict(i.options)] for i in schema.inputs if not i.required}
    return {"input": {"required": required, "optional": optional}, "input_order": {"required": list(required)},
            "output": [o.type for o in schema.outputs], "output_is_list": [o.is_list for o in schema.outputs],
            "output_name": [o.name for o in schema.outputs], "name": schema.class_type,
            "display_name": schema.class_type, "description": "", "python_module": "stub",
            "category": "stub", "output_node": schema.output_node}


class StubRegistry:
    """server.ports.NodeLibrary over the stub nodes (graph.schema.Registry plus object_info and web folders)."""

    def __init__(self, nodes=ALL_NODES, web_dirs: dict[str, Path] | None = None) -> None:
        self.nodes = {cls.schema_value.class_type: cls() for cls in nodes}
        self.web_dirs = web_dirs or {}

    def get(self, class_type: str):
        return self.nodes.get(class_type)

    def class_types(self) -> list[str]:
        return list(self.nodes)

    def object_info(self) -> dict[str, dict]:
        return {name: _object_info(node.schema()) for name, node in self.nodes.items()}

    def object_info_for(self, class_type: str) -> dict[str, dict]:
        node = self.nodes.get(class_type)
        return {} if node is None else {class_type: _object_info(node.schema())}

    def web_directories(self) -> dict[str, Path]:
        return dict(self.web_dirs)


class StubFolders:
    """server.ports.FolderLayout rooted in a temporary folder, with four model keys of one folder each.
    The `*_dir` attributes are for the stub nodes and the tests, as on folders.layout.Folders."""

    MODEL_KEYS = ("checkpoints", "loras", "embeddings", "vae")

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.input_dir = self.root / "input"
        self.output_dir = self.root / "output"
        self.temp_dir = self.root / "temp"
        self.user_dir = self.root / "user"
        for path in (self.input_dir, self.output_dir, self.temp_dir, self.user_dir):
            path.mkdir(parents=True, exist_ok=True)
        for key in self.MODEL_KEYS:
            (self.root / "models" / key).mkdir(parents=True, exist_ok=True)

    def directory(self, folder_type: str) -> Path:
        dirs = {"input": self.input_dir, "output": self.output_dir, "temp": self.temp_dir, "user": self.user_dir}
        return dirs[folder_type]

    def known_keys(self) -> list[str]:
        return list(self.MODEL_KEYS)

    def model_paths(self, key: str) -> list[Path]:
        if key not in self.MODEL_KEYS:
            raise KeyError(key)
        return [self.root / "models" / key]

    def list_files(self, key: str) -> list[str]:
        base = self.model_paths(key)[0]
        return sorted(p.relative_to(base).as_posix() for p in base.rglob("*") if p.is_file())

    def resolve(self, key: str, name: str) -> Path:
        if not name or name.startswith("/") or "\\" in name or "\x00" in name or ".." in name.split("/"):
            raise ValueError(f"{name!r} would leave the {key!r} folder")
        path = self.model_paths(key)[0] / name
        if not path.is_file():
            raise FileNotFoundError(f"{name!r} is not in the {key!r} folder")
        return path


class StubRuntime:
    """server.ports.ServerRuntime: stub folders, and a count of /free unloads."""

    def __init__(self, root: Path) -> None:
        self.folders = StubFolders(root)
        self.unloads = 0

    def unload_models(self) -> bool:
        self.unloads += 1
        return True

    def resident_models(self) -> list[dict]:
        return []
