"""What the benchmark scripts share: where results go, how a run is logged, named and written."""

from __future__ import annotations

import argparse
import contextlib
import json
import shlex
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from harness.paths import DATA_DIR_ENV, REPO_ROOT, data_dir

__all__ = [
    "BENCH_DIR",
    "RESULTS_DIR",
    "add_data_dir_option",
    "command_line",
    "cpu_model",
    "log",
    "resolve_data_dir",
    "shown",
    "write_results",
]

BENCH_DIR = REPO_ROOT / "benchmarks"
RESULTS_DIR = BENCH_DIR / "results"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def command_line(module: str, argv: Sequence[str] | None = None) -> str:
    """The command that started this run, as it would be typed: ``python -m <module> <arguments>``."""
    arguments = sys.argv[1:] if argv is None else list(argv)
    return shlex.join(["python", "-m", module, *arguments])


def shown(path: Path) -> str:
    """A path as the reader of a log wants it: relative to the repository when inside it."""
    path = path.resolve()
    return str(path.relative_to(REPO_ROOT)) if path.is_relative_to(REPO_ROOT) else str(path)


def cpu_model() -> str | None:
    """The CPU's model name from /proc/cpuinfo (None where there is none)."""
    cpuinfo = Path("/proc/cpuinfo")
    lines = cpuinfo.read_text().splitlines() if cpuinfo.exists() else []
    return next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")), None)


def add_data_dir_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        type=Path,
        help=f"folder of the public data sets (default: ${DATA_DIR_ENV}, else ../shared/data beside the "
        "repository)",
    )


def resolve_data_dir(parser: argparse.ArgumentParser, option: Path | None) -> Path:
    """The data sets' folder for a ``--data-dir`` value; a usage error when it does not exist."""
    try:
        return data_dir(option)
    except FileNotFoundError as exc:
        parser.error(str(exc))


def write_results(stem: Path, report: dict[str, Any], markdown: str) -> tuple[Path, Path]:
    """``<stem>.json`` and ``<stem>.md``, each written whole (through a ``.tmp`` file) or not at all."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = (stem.parent / f"{stem.name}.json", stem.parent / f"{stem.name}.md")
    for path, text in zip(paths, (json.dumps(report, indent=2, default=str) + "\n", markdown), strict=True):
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    return paths


def proxy_machine_facts(packages: Sequence[str], redis_version: str | None) -> dict[str, Any]:
    """What the proxy benchmarks record about the machine: cores, CPU, platform, package versions."""
    import os
    import platform
    from importlib import metadata

    versions: dict[str, str | None] = {}
    for name in packages:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "cpu_count": os.cpu_count(),
        "cpu_affinity": len(os.sched_getaffinity(0)),
        "cpu_model": cpu_model() or platform.processor(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "packages": versions,
        "redis_server": redis_version,
        "load_average": list(os.getloadavg()),
    }


@contextlib.contextmanager
def work_dir(prefix: str, keep: bool) -> Iterator[Path]:
    """A temporary folder for a run's services, logs and configs: removed afterwards unless ``keep``,
    kept (and named on stderr) when the run fails."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    failed = True
    try:
        yield path
        failed = False
    finally:
        if failed or keep:
            print(f"logs and configs kept in {path}", file=sys.stderr)
        else:
            shutil.rmtree(path, ignore_errors=True)


def publish(output: Path, results: dict[str, Any], text: str) -> None:
    """Write a run's results (JSON + Markdown) and print the Markdown."""
    paths = write_results(output, results, text)
    print()
    print(text)
    print("written: " + ", ".join(shown(p) for p in paths))
