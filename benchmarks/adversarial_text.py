"""Texts built to make the request path's text handling backtrack: the old quadratic code beside today's.

    python -m benchmarks.adversarial_text [--scale N]

Each row times one hostile input through the function the request path calls today and through the
expression it replaced (kept here, as a reference, only to be timed): the embedding head's word-count
features on a whitespace-free blob, the contrast guard's sentence starts on a question padded with blank
lines, and the stream replay's pieces on an all-blank answer. Both sides run in one process, one after the
other, so the ratio is measured side by side. ``--scale`` multiplies the input sizes (the old side grows
with its square). Writes ``benchmarks/results/adversarial_text.{json,md}``.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from benchmarks.common import RESULTS_DIR, command_line, write_results

MODULE = "benchmarks.adversarial_text"

#: The expressions the fixes replaced (november 2026), verbatim.
OLD_LONG = (re.compile(r"(?:\S+\s+){15}\S"), re.compile(r"(?:\S+\s+){35}\S"))
OLD_SENTENCE_START = re.compile(r"(?:^|[.!?:;]\s+|\n)\W*([A-Za-z][\w']*)")
OLD_PIECE = re.compile(r"\s*\S+\s*")


def _seconds(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def _cases(scale: float) -> list[tuple[str, str, Callable[[], object], Callable[[], object]]]:
    """(case, input, today's call, the old expression's call)."""
    from litellm_semcache.admission.classifier import ClassifierStage
    from litellm_semcache.formats.base import pieces
    from litellm_semcache.settings import SemCacheSettings
    from litellm_semcache.verification.contrast import named_words

    stage = ClassifierStage.from_settings(
        SemCacheSettings(redis_url="redis://unused", cacheability_model="embedding")
    )
    assert stage is not None
    vector = np.full((1, 384), 1 / np.sqrt(384), dtype=np.float32)
    blob = "Decode this base64 string: " + "QUJD" * int(7_500 * scale)
    padded = "Tell me about Rome. Who is Paris Hilton?" + "\n" * int(4_000 * scale)
    blank = " \n" * int(4_000 * scale)
    return [
        (
            "embedding head, whitespace-free blob",
            f"{len(blob):,} characters",
            lambda: stage.decide_many([blob], vector),
            lambda: [p.search(blob.lower()) for p in OLD_LONG],
        ),
        (
            "contrast guard, question + blank lines",
            f"{len(padded):,} characters",
            lambda: named_words(padded),
            lambda: list(OLD_SENTENCE_START.finditer(padded)),
        ),
        (
            "stream replay, all-blank answer",
            f"{len(blank):,} characters",
            lambda: pieces(blank),
            lambda: OLD_PIECE.findall(blank),
        ),
    ]


def measure(scale: float) -> list[dict[str, Any]]:
    rows = []
    for case, size, today, old in _cases(scale):
        today()  # warm-up (the head's first call compiles nothing, but the classifier loads lazily)
        now = min(_seconds(today) for _ in range(3))
        before = _seconds(old)
        rows.append({"case": case, "input": size, "today_ms": now * 1000, "old_ms": before * 1000})
    return rows


def _markdown(rows: list[dict[str, Any]], command: str) -> str:
    lines = [
        f"Command: `{command}`",
        "",
        "| case | input | today (ms) | old expression (ms) | old / today |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        ratio = r["old_ms"] / max(r["today_ms"], 1e-6)
        lines.append(
            f"| {r['case']} | {r['input']} | {r['today_ms']:.2f} | {r['old_ms']:,.0f} | {ratio:,.0f}x |"
        )
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog=f"python -m {MODULE}", description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies the input sizes")
    args = parser.parse_args(argv)
    rows = measure(args.scale)
    command = command_line(MODULE, argv)
    markdown = _markdown(rows, command)
    print(markdown)
    report = {"command": shlex.split(command), "rows": rows, "cpu_count": os.cpu_count()}
    write_results(RESULTS_DIR / "adversarial_text", report, markdown)


if __name__ == "__main__":
    main()
