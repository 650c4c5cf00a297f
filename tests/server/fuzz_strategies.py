"""Hypothesis strategies for fuzzing the server: prompt bodies mutated from the real workflows,
file-route paths, and WebSocket messages; plus the settings every fuzz test shares.

The number of examples per test is LATENTGRAPH_FUZZ_EXAMPLES (default: small, for CI); the runs
are derandomized, so CI sees the same examples every time.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from urllib.parse import quote

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = {path.stem: json.loads(path.read_text()) for path in sorted((ROOT / "workflows").glob("*_api.json"))}
# Small prompts of cheap utility nodes: mutations of these are often accepted and run.
CHEAP_PROMPTS = {
    "int_math": {"1": {"class_type": "IntMath", "inputs": {"a": 6, "b": 7, "operation": "multiply"}},
                 "2": {"class_type": "PreviewAny", "inputs": {"source": ["1", 0]}}},
    "text": WORKFLOWS["text_pipeline_api"],
    "float_math": {"1": {"class_type": "FloatMath", "inputs": {"a": 1.5, "b": 2.0, "operation": "power"}},
                   "2": {"class_type": "PreviewAny", "inputs": {"source": ["1", 0]}}},
    "regex": {"1": {"class_type": "PrimitiveString", "inputs": {"value": "a1b22c333"}},
              "2": {"class_type": "RegexReplace", "inputs": {"string": ["1", 0], "regex_pattern": "[0-9]+",
                                                             "replace": "#", "count": 0}},
              "3": {"class_type": "StringSubstring", "inputs": {"string": ["2", 0], "start": 1, "end": 4}},
              "4": {"class_type": "PreviewAny", "inputs": {"source": ["3", 0]}}},
}


def fuzz_settings(default_examples: int):
    """Shared settings: `default_examples` unless LATENTGRAPH_FUZZ_EXAMPLES says otherwise; reproducible."""
    examples = int(os.environ.get("LATENTGRAPH_FUZZ_EXAMPLES", default_examples))
    return settings(max_examples=examples, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                           HealthCheck.data_too_large])


# ---------------------------------------------------------------------------- values
EXTREME_NUMBERS = [0, -1, 1, -0.0, 2**31, -(2**31) - 1, 2**53 + 1, 2**63, 2**64, -(2**64), 18446744073709551616,
                   2**1000, -(2**1000), 1e308, -1e308, 1e-320, 5e-324, float("inf"), float("-inf"), float("nan"),
                   0.5, -0.5, 1e16, 3.14159]
ODD_STRINGS = ["", " ", "\x00", "../../etc/passwd", "/etc/passwd", "C:\\Windows", "..\\..\\x", "%2e%2e%2f",
               "é" * 10, "\U0001f600", "\u202e\u200b", "\ud800".encode("utf-8", "surrogatepass").decode("utf-8", "replace"),
               "a" * 5000, "NaN", "Infinity", "null", "true", "[\"1\", 0]", "0"]

scalars = st.one_of(
    st.none(), st.booleans(), st.sampled_from(EXTREME_NUMBERS), st.integers(), st.floats(allow_nan=True),
    st.sampled_from(ODD_STRINGS), st.text(max_size=40))
json_values = st.recursive(
    scalars, lambda children: st.one_of(st.lists(children, max_size=4),
                                        st.dictionaries(st.text(max_size=10), children, max_size=4)),
    max_leaves=12)
links = st.one_of(
    st.tuples(st.text(max_size=4), st.integers(-3, 100)).map(list),
    st.sampled_from([["1"], ["1", 0, 0], ["1", "0"], ["9999", 0], ["1", 99], [1, 0], ["1", -1], ["1", 2**64],
                     ["1", 0.5], ["1", True], [None, 0], [], [["1", 0], 0]]))


def nested(depth: int) -> object:
    """`depth` levels of lists around one value (the server's depth limit is 100)."""
    value: object = 1
    for _ in range(depth):
        value = [value]
    return value


# ---------------------------------------------------------------------------- prompt mutations
def _node_ids(prompt: dict) -> list:
    return sorted(prompt, key=str)


@st.composite
def mutated_prompt(draw) -> object:
    """A real workflow (or a cheap prompt) with a few random structural and value mutations."""
    source = st.sampled_from(list(CHEAP_PROMPTS.values()) if draw(st.booleans()) else list(WORKFLOWS.values()))
    prompt = copy.deepcopy(draw(source))
    for _ in range(draw(st.sampled_from([0, 0, 1, 1, 2, 3]))):
        ids = _node_ids(prompt)
        if not ids:
            break
        node_id = draw(st.sampled_from(ids))
        node = prompt[node_id]
        kind = draw(st.sampled_from(["drop_node", "dup_node", "retype_node", "drop_key", "retype_key",
                                     "class_type", "drop_input", "retype_input", "link_to_literal",
                                     "literal_to_link", "extreme_number", "odd_string", "extra_input",
                                     "deep", "rename_node"]))
        inputs = node.get("inputs") if isinstance(node, dict) else None
        names = sorted(inputs) if isinstance(inputs, dict) else []
        if kind == "drop_node":
            del prompt[node_id]
        elif kind == "dup_node":
            prompt[draw(st.text(min_size=1, max_size=6))] = copy.deepcopy(node)
        elif kind == "retype_node":
            prompt[node_id] = draw(json_values)
        elif kind == "rename_node":
            prompt[draw(st.sampled_from(["", "0", "-1", "9" * 30, "\x00", "é"]))] = prompt.pop(node_id)
        elif not isinstance(node, dict):
            continue
        elif kind == "drop_key":
            node.pop(draw(st.sampled_from(["class_type", "inputs", "_meta"])), None)
        elif kind == "retype_key":
            node[draw(st.sampled_from(["class_type", "inputs", "_meta"]))] = draw(json_values)
        elif kind == "class_type":
            node["class_type"] = draw(st.one_of(st.sampled_from(["Nope", "", "PreviewAny", "SaveImage",
                                                                 "KSampler", "EmptyLatentImage", "IntMath"]),
                                                st.text(max_size=20)))
        elif kind == "extra_input" and isinstance(inputs, dict):
            inputs[draw(st.text(max_size=12))] = draw(st.one_of(json_values, links))
        elif kind == "deep" and isinstance(inputs, dict):
            inputs[draw(st.sampled_from(names or ["x"]))] = nested(draw(st.sampled_from([5, 50, 99, 101, 150])))
        elif not names:
            continue
        else:
            name = draw(st.sampled_from(names))
            value = inputs[name]
            if kind == "drop_input":
                del inputs[name]
            elif kind == "retype_input":
                inputs[name] = draw(json_values)
            elif kind == "link_to_literal":
                inputs[name] = draw(scalars) if isinstance(value, list) else value
            elif kind == "literal_to_link":
                inputs[name] = draw(st.one_of(links, st.sampled_from(ids).map(lambda i: [i, 0])))
            elif kind == "extreme_number":
                inputs[name] = draw(st.sampled_from(EXTREME_NUMBERS))
            elif kind == "odd_string":
                inputs[name] = draw(st.one_of(st.sampled_from(ODD_STRINGS), st.text(max_size=30)))
    return prompt


REQUEST_FIELDS = {
    "number": st.one_of(st.sampled_from(EXTREME_NUMBERS), st.integers(), scalars),
    "front": st.one_of(st.booleans(), scalars),
    "client_id": st.one_of(st.text(max_size=20), json_values),
    "extra_data": st.one_of(st.dictionaries(st.sampled_from(["client_id", "extra_pnginfo", "preview_method", "x"]),
                                            json_values, max_size=3), json_values),
    "prompt_id": st.one_of(st.uuids().map(str), st.text(max_size=20), st.just("x" * 300), json_values),
    "partial_execution_targets": st.one_of(st.lists(st.sampled_from(["1", "2", "9", "9", "5"]), max_size=3),
                                           json_values),
}


@st.composite
def prompt_body(draw) -> bytes:
    """The raw bytes of a POST /prompt body: mostly `{"prompt": <mutated>, ...fields}`, sometimes a
    wrong top-level type, a duplicated key, deep nesting or something that is not JSON."""
    shape = draw(st.sampled_from(["prompt"] * 6 + ["one_field"] * 3 + ["top", "dup_key", "deep", "garbage"]))
    if shape == "top":
        return json.dumps(draw(json_values)).encode()
    if shape == "garbage":
        return draw(st.one_of(st.binary(max_size=200), st.sampled_from(
            [b"", b"{", b"[" * 5000, b"{\"prompt\": NaN}", b"\xff\xfe{}", b"{\"prompt\": {}} trailing"])))
    if shape == "one_field":  # a good prompt with one odd field, so the field reaches the queue store
        field = draw(st.sampled_from(sorted(REQUEST_FIELDS)))
        body = {"prompt": draw(st.sampled_from(list(CHEAP_PROMPTS.values()))), field: draw(REQUEST_FIELDS[field])}
        return json.dumps(body, allow_nan=True).encode()
    body = {"prompt": draw(mutated_prompt())}
    for field in draw(st.lists(st.sampled_from(sorted(REQUEST_FIELDS)), max_size=3, unique=True)):
        body[field] = draw(REQUEST_FIELDS[field])
    if shape == "deep":
        body["extra_data"] = {"x": nested(draw(st.sampled_from([99, 100, 101, 400])))}
    text = json.dumps(body, allow_nan=True)
    if shape == "dup_key":
        text = text[:-1] + ', "prompt": ' + json.dumps(draw(json_values), allow_nan=True) + "}"
    return text.encode()


# ---------------------------------------------------------------------------- file-route paths
PATH_PIECES = ["..", ".", "", "a", "ok.json", "x.png", "%2e%2e", "%252e%252e", "..%2f..", "..\\..", "C:\\", "/etc",
               "passwd", "\x00", "nul\x00.png", "é", "\U0001f600", "con", ".hidden", "a" * 255, "a" * 256, "b" * 300,
               "/".join(["c" * 200] * 25), "a:b", "?", "#", "%", "%00", " ", "~"]
path_text = st.one_of(
    st.lists(st.one_of(st.sampled_from(PATH_PIECES), st.text(max_size=12)), max_size=5).map("/".join),
    st.text(max_size=40))


@st.composite
def encoded(draw, text: str) -> str:
    """`text` made safe for a URL in one of several ways (plain, slashes kept, double-encoded)."""
    how = draw(st.sampled_from(["all", "keep_slash", "double"]))
    if how == "all":
        return quote(text, safe="")
    if how == "keep_slash":
        return quote(text, safe="/")
    return quote(quote(text, safe=""), safe="")


@st.composite
def file_request(draw) -> tuple[str, str, dict | None]:
    """(method, path with query, multipart fields or None) for one of the file routes."""
    route = draw(st.sampled_from(["view", "upload", "userdata_get", "userdata_post", "userdata_delete",
                                  "userdata_move", "userdata_list", "v2_userdata", "internal_files",
                                  "view_metadata", "settings"]))
    name = draw(encoded(draw(path_text)))
    other = draw(encoded(draw(path_text)))
    kind = draw(st.sampled_from(["output", "input", "temp", "models", "", "bogus", "../x"]))
    if route == "view":
        query = f"filename={name}&subfolder={other}&type={quote(kind)}"
        if draw(st.booleans()):
            query += "&preview=" + draw(st.sampled_from(["webp", "webp;90", "jpeg;x", "png;-1", "bogus"]))
        return "GET", "/view?" + query, None
    if route == "upload":
        fields = {"subfolder": draw(path_text), "type": kind, "overwrite": draw(st.sampled_from(["true", "1", "x"])),
                  "filename": draw(path_text), "mask": draw(st.booleans()),
                  "original_ref": draw(st.sampled_from(["ref", "ref", "", "{", "[" * 1500, '{"filename": 5}']))}
        return "POST", "/upload/mask" if fields["mask"] else "/upload/image", fields
    if route == "userdata_get":
        return "GET", f"/userdata/{name}", None
    if route == "userdata_post":
        if draw(st.booleans()):
            name = draw(userdata_name)
        query = draw(st.sampled_from(["", "?overwrite=false", "?full_info=true", "?overwrite=x"]))
        return "POST", f"/userdata/{name}{query}", None
    if route == "userdata_delete":
        return "DELETE", f"/userdata/{name}", None
    if route == "userdata_move":
        return "POST", f"/userdata/{name}/move/{other}", None
    if route == "userdata_list":
        extra = draw(st.sampled_from(["", "&recurse=true", "&split=true&full_info=true", "&recurse=1"]))
        return "GET", f"/userdata?dir={name}{extra}", None
    if route == "v2_userdata":
        return "GET", f"/v2/userdata?path={name}", None
    if route == "view_metadata":
        return "GET", f"/view_metadata/{draw(st.sampled_from(['checkpoints', 'loras', name]))}?filename={other}", None
    if route == "settings":
        return draw(st.sampled_from(["GET", "POST"])), draw(st.sampled_from(["/settings", f"/settings/{name}"])), None
    return "GET", f"/internal/files/{draw(st.sampled_from(['input', 'output', 'temp', name]))}", None


# Bodies for POST /userdata and /settings: a settings file nested too deep once broke GET /settings.
post_body = st.sampled_from([b'{"a": 1}', b"{}", b"[" * 5000, b"", b"\xff\xfe", b"{", b"null", b"[1, 2]"])
userdata_name = st.sampled_from(["comfy.settings.json", "ok.json", "workflows/w.json"])

# ---------------------------------------------------------------------------- WebSocket messages
ws_message = st.one_of(
    st.tuples(st.just("text"), st.text(max_size=200)),
    st.tuples(st.just("text"), json_values.map(lambda v: json.dumps(v, allow_nan=True))),
    st.tuples(st.just("text"), st.fixed_dictionaries(
        {"type": st.sampled_from(["feature_flags", "status", "executing", "x", ""]), "data": json_values}).map(
        lambda v: json.dumps(v, allow_nan=True))),
    st.tuples(st.just("text"), st.sampled_from(["{", "[" * 10000, "x" * (1 << 20) + "x", "\x00", '{"type": 5}'])),
    st.tuples(st.just("binary"), st.one_of(st.binary(max_size=200), st.sampled_from([b"\x00" * ((1 << 20) + 1)]))),
)
ws_client_id = st.one_of(st.none(), st.uuids().map(lambda u: u.hex), st.sampled_from(["", "a" * 300, "%00", "é"]))
