"""The gated evaluator: the live pipeline's decision with the learned verifier, over a grid of gates.

For every query the nearest stored queries are known (most similar first). The rule stages and the
learned verifier are run once, on the ``max_n`` nearest candidates of each query; a decision at gates
``(gate, top_n, score_threshold)`` is then a few array operations, so a whole grid costs little:

    eligible = candidate among the top_n, similarity >= gate, passes the rule stages
    pick     = the eligible candidate with the best verifier score (ties: the more similar)
    hit      = the pick's score >= score_threshold

exactly as :meth:`litellm_semcache.verification.Verifier.choose` decides on the request path.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..store import Candidate
from ..verification import Verifier
from ..verification.profile import CalibrationProfile, Gates

__all__ = [
    "PROFILE_TARGETS",
    "GateRow",
    "ScoredQueries",
    "best_gates",
    "build_profile",
    "candidate_matrix",
    "score_queries",
    "sweep",
    "with_rules",
    "with_scores",
]

_Array = np.ndarray[Any, Any]


@dataclass(frozen=True)
class ScoredQueries:
    """Queries with their ``max_n`` nearest candidates: similarity, rule verdict, verifier score, truth."""

    similarity: _Array
    """(queries, max_n) similarities, most similar first; -inf where a query has fewer candidates."""
    rules: _Array
    """(queries, max_n) whether the rule stages (other than the threshold) pass the candidate."""
    scores: _Array
    """(queries, max_n) the verifier's probability (0 where it was not asked)."""
    correct: _Array
    """(queries, max_n) whether the candidate's answer is right for the query."""
    answerable: _Array
    """(queries,) whether some stored answer is right for the query."""

    def __len__(self) -> int:
        return int(self.similarity.shape[0])


@dataclass(frozen=True)
class GateRow:
    """Quality at one setting of the gates."""

    gate: float
    top_n: int
    score_threshold: float
    hits: int
    correct: int
    hit_rate: float
    precision: float
    recall: float
    out_of_scope_hit_rate: float
    false_match_rate: float


def candidate_matrix(
    candidates: Sequence[Sequence[Candidate]],
    is_correct: Callable[[int, Candidate], bool],
    answerable: Sequence[bool],
    *,
    max_n: int = 4,
) -> ScoredQueries:
    """The ``max_n`` nearest candidates of each query, every one allowed and none scored yet."""
    shape = (len(candidates), max_n)
    similarity = np.full(shape, -np.inf, dtype=np.float32)
    correct = np.zeros(shape, dtype=bool)
    for q, found in enumerate(candidates):
        for j, candidate in enumerate(found[:max_n]):
            similarity[q, j] = candidate.similarity
            correct[q, j] = is_correct(q, candidate)
    passes = similarity > -np.inf
    scores = np.zeros(shape, dtype=np.float32)
    return ScoredQueries(similarity, passes, scores, correct, np.asarray(answerable, dtype=bool))


def with_rules(
    data: ScoredQueries, rules: Verifier, queries: Sequence[str], candidates: Sequence[Sequence[Candidate]]
) -> ScoredQueries:
    """The same queries, with the rule stages' verdict (other than the threshold) on each candidate."""
    max_n = data.similarity.shape[1]
    passes = np.zeros_like(data.rules)
    for q, (query, found) in enumerate(zip(queries, candidates, strict=True)):
        top = list(found[:max_n])
        allowed = {c.id for c in rules.shortlist(query, top, -2.0, top_n=max_n).passed}
        passes[q, : len(top)] = [c.id in allowed for c in top]
    return replace(data, rules=passes)


def with_scores(
    data: ScoredQueries,
    score_pairs: Callable[[Sequence[tuple[str, str]]], Sequence[float]],
    queries: Sequence[str],
    candidates: Sequence[Sequence[Candidate]],
    *,
    min_gate: float = 0.0,
) -> ScoredQueries:
    """The same queries, with the verifier's score of every allowed candidate at or above ``min_gate``."""
    todo = np.argwhere(data.rules & (data.similarity >= min_gate))
    pairs = [(queries[q], candidates[q][j].query) for q, j in todo]
    scores = np.zeros_like(data.scores)
    for (q, j), value in zip(todo, score_pairs(pairs), strict=True):
        scores[q, j] = value
    return replace(data, scores=scores)


def score_queries(
    rules: Verifier,
    score_pairs: Callable[[Sequence[tuple[str, str]]], Sequence[float]],
    queries: Sequence[str],
    candidates: Sequence[Sequence[Candidate]],
    is_correct: Callable[[int, Candidate], bool],
    answerable: Sequence[bool],
    *,
    max_n: int = 4,
    min_gate: float = 0.0,
) -> ScoredQueries:
    """Run the rule stages and the verifier once on the ``max_n`` nearest candidates of each query
    (the verifier only on those the rules allow, at or above ``min_gate``: nothing below is ever judged)."""
    data = candidate_matrix(candidates, is_correct, answerable, max_n=max_n)
    data = with_rules(data, rules, queries, candidates)
    return with_scores(data, score_pairs, queries, candidates, min_gate=min_gate)


@dataclass(frozen=True)
class _Picks:
    """Per query: the best eligible score and whether that candidate is right; the nearest eligible
    candidate's score and whether it is right; whether any candidate was eligible."""

    best: _Array
    best_right: _Array
    nearest: _Array
    nearest_right: _Array
    any_eligible: _Array

    def right(self, threshold: float) -> _Array:
        """Whether the candidate served at ``threshold`` is right: the nearest eligible one when it
        reaches the threshold (the live verifier judges it first and alone), else the best-scored."""
        right: _Array = np.where(self.nearest >= threshold, self.nearest_right, self.best_right)
        return right


def _decide(data: ScoredQueries, gate: float, top_n: int) -> _Picks:
    eligible = (data.similarity[:, :top_n] >= gate) & data.rules[:, :top_n]
    masked = np.where(eligible, data.scores[:, :top_n], -1.0)
    rows = np.arange(len(data))
    pick, nearest = masked.argmax(axis=1), eligible.argmax(axis=1)
    return _Picks(
        best=masked[rows, pick],
        best_right=data.correct[rows, pick],
        nearest=masked[rows, nearest],
        nearest_right=data.correct[rows, nearest],
        any_eligible=np.asarray(eligible.any(axis=1)),
    )


def sweep(
    data: ScoredQueries,
    gates: Sequence[float],
    top_ns: Sequence[int],
    score_thresholds: Sequence[float],
) -> list[GateRow]:
    """Quality at every combination of the gates."""
    rows = []
    total = len(data)
    answerable = int(data.answerable.sum())
    out_of_scope = total - answerable
    negatives = int((~data.correct[:, 0] & (data.similarity[:, 0] > -np.inf)).sum())
    for gate in gates:
        for top_n in top_ns:
            picks = _decide(data, gate, top_n)
            for threshold in score_thresholds:
                # a hit whenever some eligible candidate reaches the threshold, whichever is served
                hit = picks.any_eligible & (picks.best >= threshold)
                right = picks.right(threshold)
                hits, good = int(hit.sum()), int((hit & right).sum())
                oos_hits = int((hit & ~data.answerable).sum())
                rows.append(
                    GateRow(
                        gate=float(gate),
                        top_n=int(top_n),
                        score_threshold=float(threshold),
                        hits=hits,
                        correct=good,
                        hit_rate=hits / total if total else 0.0,
                        precision=good / hits if hits else 1.0,
                        recall=good / answerable if answerable else 0.0,
                        out_of_scope_hit_rate=oos_hits / out_of_scope if out_of_scope else 0.0,
                        false_match_rate=(hits - good) / negatives if negatives else 0.0,
                    )
                )
    return rows


def best_gates(
    sets: dict[str, list[GateRow]], target_precision: float, *, min_hits: int = 1
) -> tuple[Gates, dict[str, GateRow]] | None:
    """The setting with the most hits (mean hit rate over the sets) whose precision reaches the target on
    every set; None when no setting does. The sets' sweeps must share their grid order."""
    names = list(sets)
    best: tuple[float, int] | None = None
    for i in range(len(sets[names[0]])):
        rows = [sets[name][i] for name in names]
        if all(r.precision >= target_precision and r.hits >= min_hits for r in rows):
            mean = sum(r.hit_rate for r in rows) / len(rows)
            if best is None or mean > best[0]:
                best = (mean, i)
    if best is None:
        return None
    chosen = {name: sets[name][best[1]] for name in names}
    first = chosen[names[0]]
    measured = {
        f"{name}_{field}": round(getattr(row, field), 4)
        for name, row in chosen.items()
        for field in ("precision", "hit_rate")
    }
    gates = Gates(
        target_precision=target_precision,
        gate=first.gate,
        top_n=first.top_n,
        score_threshold=first.score_threshold,
        measured=measured,
    )
    return gates, chosen


#: Target precisions a profile has a row for.
PROFILE_TARGETS: tuple[float, ...] = (0.8, 0.85, 0.9, 0.95, 0.97, 0.98, 0.985, 0.99, 0.995)


def build_profile(
    sets: dict[str, list[GateRow]],
    *,
    verifier: str,
    embedding_model: str,
    source: str,
    targets: Sequence[float] = PROFILE_TARGETS,
) -> CalibrationProfile:
    """A calibration profile: for each target precision the data reach, the gates with the most hits.

    Raises:
        ValueError: no target is reached on the data.
    """
    rows = [found[0] for target in targets if (found := best_gates(sets, target)) is not None]
    if not rows:
        raise ValueError("no setting of the gates reaches any target precision on these data")
    return CalibrationProfile(verifier=verifier, embedding_model=embedding_model, source=source, rows=rows)
