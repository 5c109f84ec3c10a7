"""Evaluators that measure the live decision code on labelled data; ``calibrate`` and the benchmarks
read their metrics."""

from __future__ import annotations

from .data import OUT_OF_SCOPE, IntentSet, PairSet, load_intent_split, load_pairs
from .embeddings import embed_all
from .gated import (
    PROFILE_TARGETS,
    GateRow,
    ScoredQueries,
    best_gates,
    build_profile,
    candidate_matrix,
    score_queries,
    sweep,
    with_rules,
    with_scores,
)
from .intents import nearest_candidates, score_intents
from .metrics import DEFAULT_THRESHOLDS, Row, format_table, recommend
from .pairs import pair_similarities, score_pairs

__all__ = [
    "DEFAULT_THRESHOLDS",
    "OUT_OF_SCOPE",
    "PROFILE_TARGETS",
    "GateRow",
    "IntentSet",
    "PairSet",
    "Row",
    "ScoredQueries",
    "best_gates",
    "build_profile",
    "candidate_matrix",
    "embed_all",
    "format_table",
    "load_intent_split",
    "load_pairs",
    "nearest_candidates",
    "pair_similarities",
    "recommend",
    "score_intents",
    "score_pairs",
    "score_queries",
    "sweep",
    "with_rules",
    "with_scores",
]
