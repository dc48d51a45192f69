"""Lint: ruff with the rules pyproject.toml selects (pyflakes, pycodestyle, import order,
pyupgrade, bugbear) finds nothing in the code, the stages, the tests or the benchmarks."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


def test_ruff_finds_nothing():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--output-format", "concise", "."],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_would_catch_an_unused_import(tmp_path):
    """The configuration is the one in effect: a file with a lint error in the repository's
    settings fails (so an empty or broken selection cannot pass the test above)."""
    bad = tmp_path / "bad.py"
    bad.write_text("import os\n")
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--config",
                             str(ROOT / "pyproject.toml"), str(bad)], capture_output=True, text=True)
    assert result.returncode == 1 and "F401" in result.stdout, result.stdout + result.stderr
