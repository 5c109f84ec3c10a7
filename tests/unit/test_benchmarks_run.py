"""Every benchmark still imports and parses its options: ``python -m benchmarks.<name> --help`` from the
repository root, as the README runs them. Cheap (no model, no service), and it fails when an import breaks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: Every module of benchmarks/ that runs as a script.
SCRIPTS = sorted(
    path.stem
    for path in (ROOT / "benchmarks").glob("*.py")
    if 'if __name__ == "__main__":' in path.read_text(encoding="utf-8")
)


def test_every_benchmark_the_readme_runs_is_a_script() -> None:
    assert {"latency", "profile_hit_path", "quality", "scale"} <= set(SCRIPTS)


@pytest.mark.parametrize("name", SCRIPTS)
def test_benchmark_help_exits_0(name: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", f"benchmarks.{name}", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: python -m benchmarks.{name}")
