"""The pair evaluator: a cache holding only ``a`` is asked ``b``; a match is right when ``same`` is 1."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..store import Candidate
from ..verification import Verifier
from .data import PairSet
from .metrics import DEFAULT_THRESHOLDS, Row, row

__all__ = ["pair_similarities", "score_pairs"]


def pair_similarities(va: np.ndarray[Any, Any], vb: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Cosine similarity of each pair of normalized vectors."""
    similarities: np.ndarray[Any, Any] = np.einsum("ij,ij->i", va, vb)
    return similarities


def score_pairs(
    verifier: Verifier,
    pairs: PairSet,
    similarities: np.ndarray[Any, Any],
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
) -> list[Row]:
    """Quality of the decision on labelled pairs, per threshold."""
    positives = sum(pairs.same)
    negatives = len(pairs.same) - positives
    rows = []
    for threshold in thresholds:
        hits = correct = 0
        for i, same in enumerate(pairs.same):
            candidate = Candidate(
                id="a", query=pairs.a[i], similarity=float(similarities[i]), answer_id="a", created_at=0.0
            )
            if verifier.decide(pairs.b[i], [candidate], threshold).hit is not None:
                hits += 1
                correct += same
        rows.append(row(threshold, len(pairs.same), hits, correct, positives, negatives=negatives))
    return rows
