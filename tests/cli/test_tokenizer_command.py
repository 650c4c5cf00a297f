"""`main.py tokenize`: ids, counts and weights per 75-token window."""

from __future__ import annotations

import argparse
import io
import json

import pytest

from app import cmd_tokenize


def _run(argv, capsys, stdin=None, monkeypatch=None):
    parser = argparse.ArgumentParser()
    cmd_tokenize.add_arguments(parser)
    if stdin is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = cmd_tokenize.run(parser.parse_args(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_json_report(capsys):
    code, out, _ = _run(["a photo of a (cat:1.5)", "--json"], capsys)
    assert code == 0
    report = json.loads(out)
    assert report["family"] == "sd15" and report["pad_token"] == 49407
    assert report["total_tokens"] == 5
    window = report["windows"][0]
    assert window["ids"][:7] == [49406, 320, 1125, 539, 320, 2368, 49407] and len(window["ids"]) == 77
    assert window["tokens"][-1] == {"id": 2368, "text": "cat</w>", "weight": 1.5}


def test_sdxl_pads_with_end_token_for_clip_l_and_long_prompts_split(capsys):
    code, out, _ = _run(["cat " * 80, "--family", "sdxl", "--json"], capsys)
    report = json.loads(out)
    assert [w["count"] for w in report["windows"]] == [75, 5]
    assert report["total_tokens"] == 80
    code, out, _ = _run(["cat", "--family", "sd21", "--json"], capsys)
    assert json.loads(out)["windows"][0]["ids"][3:] == [0] * 74


def test_text_report(capsys):
    code, out, _ = _run(["a ((cat))"], capsys)
    assert code == 0
    assert out.splitlines()[0] == "2 tokens in 1 window(s) (family sd15, padding with 49407)"
    assert "window 1: 2/75 tokens" in out
    assert "2368  cat</w>  x1.21" in out


def test_reads_stdin(capsys, monkeypatch):
    code, out, _ = _run(["-", "--json"], capsys, stdin="a cat\n", monkeypatch=monkeypatch)
    assert json.loads(out)["total_tokens"] == 2


def test_unknown_family_is_refused(capsys):
    with pytest.raises(SystemExit):
        _run(["a", "--family", "sd3"], capsys)


def test_missing_tokenizer_files_give_a_clear_error(capsys, monkeypatch):
    def broken(*_args, **_kwargs):
        raise RuntimeError("CLIP tokenizer files unreadable")

    monkeypatch.setattr(cmd_tokenize, "tokenize_report", broken)
    code, _, err = _run(["a"], capsys)
    assert code == 1 and "cannot tokenize: CLIP tokenizer files unreadable" in err
