"""Regex nodes: hand-worked matches, ComfyUI's mode semantics, bad patterns refused, catastrophic patterns bounded."""


import pytest

from nodes.api.declare import DeclaredNodeType
from nodes.library.utility import regex_nodes
from nodes.library.utility.regex_nodes import RegexExtract, RegexMatch, RegexReplace
from tests.nodes.sd_fakes import values

FLAGS = dict(case_insensitive=True, multiline=False, dotall=False)


@pytest.fixture
def ctx(make_ctx):
    return make_ctx()


def extract(ctx, string, pattern, mode, group_index=1, **flags):
    return values(RegexExtract, ctx, string=string, regex_pattern=pattern, mode=mode, group_index=group_index,
                  **{**FLAGS, **flags})[0]


def test_match_and_its_flags(ctx):
    assert values(RegexMatch, ctx, string="Seed: 42", regex_pattern=r"seed:\s*\d+", **FLAGS) == (True,)
    assert values(RegexMatch, ctx, string="Seed: 42", regex_pattern=r"seed", **{**FLAGS, "case_insensitive": False}) \
        == (False,)
    assert values(RegexMatch, ctx, string="a\nb", regex_pattern=r"^b$", **FLAGS) == (False,)
    assert values(RegexMatch, ctx, string="a\nb", regex_pattern=r"^b$", **{**FLAGS, "multiline": True}) == (True,)
    assert values(RegexMatch, ctx, string="a\nb", regex_pattern=r"a.b", **{**FLAGS, "dotall": True}) == (True,)


def test_extract_modes_as_comfyui(ctx):
    text = "w=512 h=768 w=640"
    assert extract(ctx, text, r"w=\d+", "First Match") == "w=512"
    assert extract(ctx, text, r"w=\d+", "All Matches") == "w=512\nw=640"
    # With groups, All Matches gives the first group of each match (ComfyUI's findall behaviour).
    assert extract(ctx, text, r"(\w)=(\d+)", "All Matches") == "w\nh\nw"
    assert extract(ctx, text, r"(\w)=(\d+)", "First Group", group_index=2) == "512"
    assert extract(ctx, text, r"(\w)=(\d+)", "First Group", group_index=0) == "w=512"
    assert extract(ctx, text, r"(\w)=(\d+)", "All Groups", group_index=2) == "512\n768\n640"
    assert extract(ctx, text, r"(\w)=(\d+)", "All Groups", group_index=3) == ""
    assert extract(ctx, text, r"x=(\d+)", "First Match") == ""
    assert extract(ctx, "ab", r"a(x)?", "First Group") == ""  # a group that took no part gives ""


def test_replace_with_groups_count_and_flags(ctx):
    def replace(string, pattern, replacement, **options):
        return values(RegexReplace, ctx, string=string, regex_pattern=pattern, replace=replacement, **options)[0]

    assert replace("a1b22c333", r"\d+", "#") == "a#b#c#"
    assert replace("a1b22c333", r"\d+", "#", count=2) == "a#b#c333"
    assert replace("John Smith", r"(\w+) (\w+)", r"\2, \1") == "Smith, John"
    assert replace("Cat cat", r"cat", "dog") == "dog dog"
    assert replace("Cat cat", r"cat", "dog", case_insensitive=False) == "Cat dog"
    assert replace("x", r"", "-") == "-x-"


def test_a_bad_pattern_is_a_validation_error_naming_the_input():
    for node in (RegexMatch, RegexExtract, RegexReplace):
        problems = DeclaredNodeType(node).validate({"regex_pattern": "(unclosed"}, None)
        assert len(problems) == 1 and problems[0][0] == "regex_pattern"
        assert "not a valid regular expression" in problems[0][1] and "missing )" in problems[0][1]
        assert DeclaredNodeType(node).validate({"regex_pattern": r"(\d+)"}, None) == []
        assert DeclaredNodeType(node).validate({"regex_pattern": None}, None) == []  # linked: checked at run


def test_a_bad_pattern_or_replacement_at_run_names_the_input(ctx):
    with pytest.raises(ValueError, match="RegexMatch: input 'regex_pattern' is not a valid regular expression"):
        values(RegexMatch, ctx, string="a", regex_pattern="[a-", **FLAGS)
    with pytest.raises(ValueError, match="RegexReplace: input 'replace' is not a valid replacement"):
        values(RegexReplace, ctx, string="abc", regex_pattern="(b)", replace=r"\9")
    with pytest.raises(TypeError, match="RegexExtract: input 'string' must be a STRING"):
        extract(ctx, None, "a", "First Match")
    with pytest.raises(ValueError, match="RegexExtract: input 'mode' must be one of"):
        extract(ctx, "a", "a", "Last Match")
    with pytest.raises(ValueError, match="RegexReplace: input 'count' must be an integer in 0..100"):
        values(RegexReplace, ctx, string="a", regex_pattern="a", replace="b", count=-1)


def test_catastrophic_backtracking_stops_at_the_time_limit(ctx, monkeypatch):
    monkeypatch.setattr(regex_nodes, "MATCH_TIMEOUT_S", 0.2)  # the messages prove the limit stopped the match
    with pytest.raises(ValueError, match=r"RegexMatch: input 'regex_pattern': matching took longer than 0.2 s"):
        values(RegexMatch, ctx, string="a" * 60 + "b", regex_pattern=r"(a|aa)+$", **FLAGS)
    with pytest.raises(ValueError, match="RegexReplace: input 'regex_pattern': matching took longer"):
        values(RegexReplace, ctx, string="a" * 60 + "b", regex_pattern=r"(a|aa)+$", replace="")


def test_input_and_result_sizes_are_capped(ctx, monkeypatch):
    monkeypatch.setattr(regex_nodes, "MAX_TEXT_CHARS", 100)
    with pytest.raises(ValueError, match="RegexMatch: input 'string' has 101 characters; regex nodes take at most 100"):
        values(RegexMatch, ctx, string="a" * 101, regex_pattern="a", **FLAGS)
    with pytest.raises(ValueError, match="RegexReplace: the result would have more than 100 characters"):
        values(RegexReplace, ctx, string="a" * 50, regex_pattern="a", replace="bbb")
    assert values(RegexReplace, ctx, string="a" * 50, regex_pattern="a", replace="bb") == ("b" * 100,)
    with pytest.raises(ValueError, match="input 'regex_pattern' has 10001 characters; at most 10000"):
        values(RegexMatch, ctx, string="a", regex_pattern="a" * 10001, **FLAGS)
