"""``litellm-semcache calibrate --cacheability FILE``: the cacheability filter on your labelled questions.

The file is a CSV with ``text`` and ``cacheable`` (1 or 0) and, optionally, ``class`` (general, private,
live, random, or anything else you label). It prints how many of each kind the filter kept out, a
confusion table, and the questions it got wrong. With ``--write-calibration PATH`` it first fits the
classifier to the labels (``admission/calibration.py``) and writes the calibration the proxy reads.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..admission.calibration import CacheabilityCalibration, fit_general_shift
from ..admission.classifier import ClassifierStage
from ..embedding import Embedder
from ..errors import ConfigError
from ..settings import SemCacheSettings
from .classify import before_classifier, classify, embedder_for, question_vectors

__all__ = ["fit_calibration", "run_cacheability"]

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


def fit_calibration(
    path: Path,
    settings: SemCacheSettings,
    out: Path,
    budget: float,
    embedder_factory: Callable[[], Embedder] | None = None,
) -> bool:
    """Fit the general-class shift to a labelled file, print every shift's kept-out shares and write the
    chosen one to ``out``; False (nothing written) when no shift keeps the cacheable questions within
    ``budget``.

    Raises:
        ConfigError: the file is unreadable or unlabelled, or the classifier is off or cannot load.
    """
    rows = _rows(path)
    # Fitted against the shipped decision, whatever calibration the settings name now.
    base = settings.with_overrides(cacheability_calibration=None)
    stage = ClassifierStage.from_settings(base)
    if stage is None:
        raise ConfigError("the cacheability classifier is off (cacheability_classifier: false)")
    texts = [r["text"] for r in rows]
    truth = [r["cacheable"].strip().lower() in _TRUE for r in rows]
    if not any(truth):
        raise ConfigError(f"{path}: no row is labelled cacheable; the fit needs some")
    fixed = [v.cacheable if v is not None else None for v in before_classifier(texts, base, stage)]
    embedder = embedder_for(stage, base, embedder_factory() if embedder_factory else None)
    # Every row is read (the rules' own decisions are kept as they are), so the shares count them all;
    # one per call, as `classify` and a lone request through the proxy.
    probabilities = np.concatenate(
        [stage.probabilities_many([t], question_vectors(stage, [t], embedder)) for t in texts]
    )
    fit = fit_general_shift(
        stage.model, probabilities, truth, lambda p: stage.apply_policy(p).admitted, budget, fixed
    )
    print(f"{'general shift':>14} {'cacheable kept out':>19} {'others kept out':>16}")
    for shift, good, bad in fit.table:
        mark = "  <- chosen" if shift == fit.shift else ""
        print(f"{shift:>14.2f} {good:>19.1%} {bad:>16.1%}{mark}")
    if fit.shift is None:
        print(f"no shift keeps at most {budget:.1%} of the cacheable questions out; nothing written")
        return False
    chosen = next(row for row in fit.table if row[0] == fit.shift)
    CacheabilityCalibration(
        model=stage.model.version,
        general_shift=fit.shift,
        keep_out_budget=budget,
        source=str(path),
        measured={"cacheable_kept_out": round(chosen[1], 4), "others_kept_out": round(chosen[2], 4)},
    ).write(out)
    print(f"calibration: {out}")
    return True


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
