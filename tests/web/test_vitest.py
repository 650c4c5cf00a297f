"""Runs the editor's TypeScript unit tests (Vitest: converters, PNG metadata, WebSocket frames,
stores), the type check and the formatting check as part of pytest, so one test command covers them."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from .conftest import WEB


@pytest.fixture(scope="module")
def npm(web_dist) -> str:  # web_dist: node_modules installed and the build lock released
    path = shutil.which("npm")
    if path is None:
        pytest.skip("npm is not installed, so the TypeScript unit tests cannot run")
    if not (WEB / "node_modules").is_dir():
        subprocess.run([path, "ci", "--no-audit", "--no-fund"], cwd=WEB, check=True, timeout=600)
    return path


def test_vitest_unit_tests_pass(npm):
    result = subprocess.run([npm, "test", "--silent"], cwd=WEB, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def test_typescript_type_check_passes(npm):
    result = subprocess.run([npm, "run", "typecheck", "--silent"], cwd=WEB, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def test_typescript_sources_are_formatted(npm):
    result = subprocess.run(
        [npm, "run", "format:check", "--silent"], cwd=WEB, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, "run `npm run format` in web/:\n" + result.stdout[-4000:] + result.stderr[-2000:]
