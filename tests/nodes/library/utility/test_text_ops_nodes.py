"""String nodes (ComfyUI's nodes_string.py ids): hand-worked results and bad input."""

import pytest

from nodes.library.utility.text_ops import CaseConverter, StringCompare, StringContains, StringSubstring, StringTrim
from tests.nodes.sd_fakes import values


@pytest.fixture
def ctx(make_ctx):
    return make_ctx()


@pytest.mark.parametrize(("mode", "a", "b", "case_sensitive", "expected"), [
    ("Starts With", "Hello world", "Hello", True, True),
    ("Starts With", "Hello world", "hello", True, False),
    ("Starts With", "Hello world", "hello", False, True),
    ("Ends With", "Hello world", "World", False, True),
    ("Ends With", "Hello world", "Hello", True, False),
    ("Equal", "abc", "ABC", True, False),
    ("Equal", "abc", "ABC", False, True),
    ("Equal", "", "", True, True),
])
def test_compare(ctx, mode, a, b, case_sensitive, expected):
    assert values(StringCompare, ctx, string_a=a, string_b=b, mode=mode, case_sensitive=case_sensitive) == (expected,)


def test_contains(ctx):
    assert values(StringContains, ctx, string="A Red Door", substring="red", case_sensitive=True) == (False,)
    assert values(StringContains, ctx, string="A Red Door", substring="red", case_sensitive=False) == (True,)
    assert values(StringContains, ctx, string="abc", substring="", case_sensitive=True) == (True,)


@pytest.mark.parametrize(("start", "end", "expected"), [(0, 5, "Hello"), (6, 100, "world"), (-5, -1, "worl"),
                                                         (3, 1, ""), (0, 0, "")])
def test_substring_is_a_python_slice(ctx, start, end, expected):
    assert values(StringSubstring, ctx, string="Hello world", start=start, end=end) == (expected,)


@pytest.mark.parametrize(("mode", "expected"), [("Both", "a b"), ("Left", "a b \n"), ("Right", "\t a b")])
def test_trim(ctx, mode, expected):
    assert values(StringTrim, ctx, string="\t a b \n", mode=mode) == (expected,)


@pytest.mark.parametrize(("mode", "expected"), [("UPPERCASE", "HELLO WORLD-X"), ("lowercase", "hello world-x"),
                                                ("Capitalize", "Hello world-x"), ("Title Case", "Hello World-X")])
def test_case_converter(ctx, mode, expected):
    assert values(CaseConverter, ctx, string="hELLO world-x", mode=mode) == (expected,)


def test_bad_inputs_name_the_node_and_input(ctx):
    with pytest.raises(ValueError, match=r"CaseConverter: input 'mode' must be one of \['UPPERCASE'"):
        values(CaseConverter, ctx, string="a", mode="Shout")
    with pytest.raises(ValueError, match="StringTrim: input 'mode'"):
        values(StringTrim, ctx, string="a", mode="Middle")
    with pytest.raises(ValueError, match="StringCompare: input 'mode'"):
        values(StringCompare, ctx, string_a="a", string_b="a", mode="Contains", case_sensitive=True)
    with pytest.raises(TypeError, match="StringContains: input 'substring' must be a STRING, got int"):
        values(StringContains, ctx, string="a", substring=1, case_sensitive=True)
    with pytest.raises(TypeError, match="StringSubstring: input 'end' must be an INT"):
        values(StringSubstring, ctx, string="abc", start=0, end=1.5)
    with pytest.raises(TypeError, match="StringSubstring: input 'string' must be a STRING"):
        values(StringSubstring, ctx, string=None, start=0, end=1)
