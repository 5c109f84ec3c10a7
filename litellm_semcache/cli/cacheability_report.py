"""``litellm-semcache calibrate --cacheability FILE``: the cacheability filter on your labelled questions.

The file is a CSV with ``text`` and ``cacheable`` (1 or 0) and, optionally, ``class`` (general, private,
live, random, or anything else you label). It prints how many of each kind the filter kept out, a
confusion table, and the questions it got wrong.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from ..embedding import Embedder
from ..errors import ConfigError
from ..settings import SemCacheSettings
from .classify import classify

__all__ = ["run_cacheability"]

_TRUE = {"1", "true", "yes", "y"}


def _rows(path: Path) -> list[dict[str, str]]:
    try:
        with open(path, encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    for number, row in enumerate(rows, start=1):
        if not (row.get("text") or "").strip() or (row.get("cacheable") or "").strip() == "":
            raise ConfigError(f"{path}: row {number} needs `text` and `cacheable`")
    return rows


def run_cacheability(
    path: Path, settings: SemCacheSettings, embedder_factory: Callable[[], Embedder] | None = None
) -> int:
    """Print the filter's confusion table on a labelled file; exit status 0."""
    rows = _rows(path)
    embedder = embedder_factory() if embedder_factory else None
    verdicts = classify([r["text"] for r in rows], settings, embedder)
    table: Counter[tuple[bool, bool]] = Counter()
    by_class: Counter[tuple[str, bool]] = Counter()
    wrong = []
    for row, verdict in zip(rows, verdicts, strict=True):
        truth = row["cacheable"].strip().lower() in _TRUE
        table[(truth, verdict.cacheable)] += 1
        by_class[(row.get("class") or ("cacheable" if truth else "not cacheable"), verdict.cacheable)] += 1
        if truth != verdict.cacheable:
            wrong.append((truth, verdict))
    print(f"{'':>18} {'cached':>8} {'kept out':>9}")
    for truth, name in ((True, "cacheable"), (False, "not cacheable")):
        print(f"{name:>18} {table[(truth, True)]:>8} {table[(truth, False)]:>9}")
    print()
    print(f"{'class':>18} {'n':>6} {'kept out':>9}")
    for name in sorted({c for c, _ in by_class}):
        total = by_class[(name, True)] + by_class[(name, False)]
        print(f"{name:>18} {total:>6} {by_class[(name, False)] / total:>9.1%}")
    if wrong:
        print("\nwrong decisions:")
        for truth, verdict in wrong[:50]:
            expected = "should be cached" if truth else "should be kept out"
            print(f"  {expected:<19} {verdict.label:<8} {verdict.decided_by:<22} {verdict.text}")
    return 0
