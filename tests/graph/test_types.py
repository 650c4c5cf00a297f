"""The one type-compatibility rule, as a table."""

import pytest

from graph.types import types_compatible

CASES = [
    # output type, input type, compatible
    ("IMAGE", "IMAGE", True),
    ("LATENT", "IMAGE", False),
    ("IMAGE", "LATENT", False),
    ("*", "IMAGE", True),
    ("MODEL", "*", True),
    ("*", "*", True),
    ("FLOAT,INT", "INT", True),
    ("INT", "FLOAT,INT", True),
    ("FLOAT, INT", "INT,STRING", True),
    ("FLOAT,STRING", "INT,IMAGE", False),
    ("INT", "FLOAT", False),
    ("COMBO", "COMBO", True),
    (["a", "b"], "COMBO", True),
    (("a", "b"), ["a", "c"], True),
    (["a", "b"], "STRING", False),
    ("STRING", "COMBO", False),
    ("INT", ["1", "2"], False),
    ("*", ["x"], True),
    ("", "IMAGE", False),
    ("image", "IMAGE", False),
]


@pytest.mark.parametrize(("output_type", "input_type", "expected"), CASES)
def test_types_compatible(output_type, input_type, expected):
    assert types_compatible(output_type, input_type) is expected
