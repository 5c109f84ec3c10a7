"""Pair and cache metrics shared by ``train.py`` and ``evaluate.py``."""

from __future__ import annotations

from typing import Any

import numpy as np

Vector = np.ndarray[Any, Any]


def precision_at_recall(labels: Vector, scores: Vector, recall: float) -> tuple[float, float]:
    """Best precision among thresholds whose recall is >= ``recall``, and that threshold."""
    order = np.argsort(-scores, kind="stable")
    sorted_labels = labels[order].astype(np.float64)
    tp = np.cumsum(sorted_labels)
    positives = max(sorted_labels.sum(), 1.0)
    precision = tp / np.arange(1, len(order) + 1)
    rec = tp / positives
    ok = np.nonzero(rec >= recall)[0]
    if len(ok) == 0:
        return 0.0, float("nan")
    # precision at the first point reaching the recall, or better further down the curve
    best = ok[np.argmax(precision[ok])]
    return float(precision[best]), float(scores[order][best])


def best_f1(labels: Vector, scores: Vector) -> tuple[float, float]:
    """Best F1 over thresholds, and that threshold."""
    order = np.argsort(-scores, kind="stable")
    sorted_labels = labels[order].astype(np.float64)
    tp = np.cumsum(sorted_labels)
    positives = max(sorted_labels.sum(), 1.0)
    precision = tp / np.arange(1, len(order) + 1)
    rec = tp / positives
    f1 = np.where(precision + rec > 0, 2 * precision * rec / np.maximum(precision + rec, 1e-12), 0.0)
    best = int(np.argmax(f1))
    return float(f1[best]), float(scores[order][best])


def auc(labels: Vector, scores: Vector) -> float:
    """Area under the ROC curve (ties averaged)."""
    from scipy.stats import rankdata

    ranks = rankdata(scores)
    pos = labels.astype(bool)
    n_pos, n_neg = pos.sum(), (~pos).sum()
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def pair_report(name: str, labels: Vector, scores: Vector) -> str:
    """One line: count, AUC, precision at 60 % recall, best F1, accuracy at 0.5."""
    p60, t60 = precision_at_recall(labels, scores, 0.60)
    f1, tf1 = best_f1(labels, scores)
    accuracy = float(((scores >= 0.5) == labels.astype(bool)).mean())
    return (
        f"{name:10s} n={len(labels):6d} auc={auc(labels, scores):.4f} P@R60={p60:.4f} (thr {t60:.3f}) "
        f"bestF1={f1:.4f} (thr {tf1:.3f}) acc@0.5={accuracy:.4f}"
    )
