"""`python main.py tokenize "TEXT" [--family sd15|sd21|sdxl] [--json]`: how a prompt is tokenized.

Prints, per 77-token window (start token + up to 75 prompt tokens + end token), how many of
the 75 places the prompt uses and each token with its id and weight, so a prompt can be
fitted to one window. Weighting syntax (`(word:1.2)`, `((word))`, `\\(`) is applied as the
encoders apply it. `TEXT` may be `-` to read the prompt from standard input.
"""

from __future__ import annotations

import json
import sys

from diffusion.models.text.encoder_specs import FAMILY_ENCODERS
from diffusion.models.text.prompt_weights import tokenize_prompt
from diffusion.models.text.tokenizer import default_tokenizer

HELP = "show the CLIP token ids and weights of a prompt, per 75-token window"
FAMILIES = {"sd15": "sd1", "sd21": "sd2", "sdxl": "sdxl"}
WINDOW_TOKENS = 75


def add_arguments(parser) -> None:
    parser.add_argument("text", help="the prompt (use - to read it from standard input)")
    parser.add_argument("--family", choices=sorted(FAMILIES), default="sd15", help="model family (padding differs)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")


def tokenize_report(text: str, family: str) -> dict:
    """The windows of `text` as plain data: per window the used count, ids (77) and tokens."""
    tokenizer = default_tokenizer()
    pad = FAMILY_ENCODERS[FAMILIES[family]][0].pad_token
    result = tokenize_prompt(text, tokenizer, pad_token=pad)
    windows = []
    for chunk in result.chunks:
        ids = [int(token) for token, _ in chunk]
        content = _content(chunk, tokenizer)
        windows.append({"count": len(content), "ids": ids, "tokens": content})
    return {
        "family": family,
        "pad_token": pad,
        "total_tokens": sum(w["count"] for w in windows),
        "windows": windows,
        "warnings": result.warnings,
    }


def _content(chunk, tokenizer) -> list[dict]:
    """The prompt's tokens in a window: everything between the start token and the end token."""
    tokens = []
    for token, weight in chunk[1:]:
        if token == tokenizer.end_token:
            break
        tokens.append({"id": int(token), "text": tokenizer.token_text(token), "weight": round(float(weight), 6)})
    return tokens


def format_report(report: dict) -> str:
    lines = [
        f"{report['total_tokens']} tokens in {len(report['windows'])} window(s) "
        f"(family {report['family']}, padding with {report['pad_token']})"
    ]
    for number, window in enumerate(report["windows"], start=1):
        lines.append(f"window {number}: {window['count']}/{WINDOW_TOKENS} tokens")
        for token in window["tokens"]:
            weight = "" if token["weight"] == 1.0 else f"  x{token['weight']:g}"
            lines.append(f"  {token['id']:>6}  {token['text']}{weight}")
    lines += [f"warning: {w}" for w in report["warnings"]]
    return "\n".join(lines)


def run(args) -> int:
    text = sys.stdin.read() if args.text == "-" else args.text
    try:
        report = tokenize_report(text, args.family)
    except Exception as exc:  # the tokenizer files may be missing: say so plainly
        print(f"error: cannot tokenize: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(report) if args.json else format_report(report))
    return 0
