"""The code is formatted and linted as STYLE.md asks: ruff at 88 columns."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGETS = ["grader", "tests", "benchmarks", "nbgrader_config.py"]


def _ruff(*args):
    ruff = Path(sys.executable).with_name("ruff")
    return subprocess.run(
        [str(ruff), *args, *TARGETS], cwd=REPO, capture_output=True, text=True
    )


def test_ruff_lint_passes():
    done = _ruff("check")
    assert done.returncode == 0, done.stdout


def test_ruff_format_is_clean():
    done = _ruff("format", "--check")
    assert done.returncode == 0, done.stdout
