"""The intent evaluator: fill a cache from one labelled set, query it with another.

A hit is right when the intents match; queries whose intent is not in the cache (CLINC150's ``oos``)
should miss. Search is exact (brute force); the live index is HNSW, whose recall against exact search is
measured in ``benchmarks/results/scale.md``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..store import Candidate
from ..verification import Verifier
from .data import OUT_OF_SCOPE, IntentSet
from .metrics import DEFAULT_THRESHOLDS, Row, row

__all__ = ["nearest_candidates", "score_intents"]


def nearest_candidates(
    cache: IntentSet,
    cache_vectors: np.ndarray[Any, Any],
    query_vectors: np.ndarray[Any, Any],
    k: int,
    progress: bool = True,
) -> list[list[Candidate]]:
    """The k nearest cached texts of every query, most similar first; a candidate's answer is its intent."""
    from tqdm import tqdm

    candidates: list[list[Candidate]] = []
    for start in tqdm(
        range(0, len(query_vectors), 512),
        desc="searching",
        unit="batch",
        disable=not progress,
        file=sys.stderr,
    ):
        scores = query_vectors[start : start + 512] @ cache_vectors.T
        top = np.argpartition(-scores, kth=min(k, scores.shape[1] - 1), axis=1)[:, :k]
        for position, indices in enumerate(top):
            ordered = sorted(indices, key=lambda j: -scores[position, j])
            candidates.append(
                [
                    Candidate(
                        id=str(j),
                        query=cache.texts[j],
                        similarity=float(scores[position, j]),
                        answer_id=cache.labels[j],
                        created_at=0.0,
                    )
                    for j in ordered
                ]
            )
    return candidates


def score_intents(
    verifier: Verifier,
    queries: IntentSet,
    candidates: Sequence[Sequence[Candidate]],
    known_labels: set[str],
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
    progress: bool = True,
) -> list[Row]:
    """Quality per threshold of serving each query its verified candidate (correct: same intent)."""
    from tqdm import tqdm

    def out_of_scope(label: str) -> bool:
        return label not in known_labels or label in OUT_OF_SCOPE

    answerable = sum(not out_of_scope(label) for label in queries.labels)
    oos_total = len(queries.labels) - answerable
    rows = []
    for threshold in tqdm(thresholds, desc="thresholds", disable=not progress, file=sys.stderr):
        hits = correct = oos_hits = 0
        for text, label, found in zip(queries.texts, queries.labels, candidates, strict=True):
            verdict = verifier.decide(text, found, threshold)
            if verdict.hit is None:
                continue
            hits += 1
            correct += verdict.hit.answer_id == label
            oos_hits += out_of_scope(label)
        rows.append(
            row(
                threshold,
                len(queries.texts),
                hits,
                correct,
                answerable,
                oos_hits=oos_hits,
                oos_total=oos_total,
            )
        )
    return rows
