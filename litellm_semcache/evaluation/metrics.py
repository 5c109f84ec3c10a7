"""Quality at a threshold: the rows every evaluator returns, and how to pick one."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["DEFAULT_THRESHOLDS", "Row", "format_table", "recommend", "row"]

#: Thresholds the evaluators sweep by default: 0.70 to 0.99.
DEFAULT_THRESHOLDS = tuple(round(0.70 + 0.01 * i, 2) for i in range(30))


@dataclass(frozen=True)
class Row:
    """Quality at one threshold."""

    threshold: float
    hit_rate: float
    precision: float
    recall: float
    f1: float
    hits: int
    correct: int
    out_of_scope_hit_rate: float | None = None
    """Intent sets: share of out-of-scope queries that got a hit (should be ~0)."""
    false_match_rate: float | None = None
    """Pair sets: share of the different-question pairs that matched."""


def row(
    threshold: float,
    decided: int,
    hits: int,
    correct: int,
    answerable: int,
    *,
    oos_hits: int | None = None,
    oos_total: int = 0,
    negatives: int | None = None,
) -> Row:
    """A row from counts: ``decided`` queries, ``hits`` served, ``correct`` of them right."""
    precision = correct / hits if hits else 1.0
    recall = correct / answerable if answerable else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Row(
        threshold,
        hits / decided if decided else 0.0,
        precision,
        recall,
        f1,
        hits,
        correct,
        (oos_hits / oos_total) if oos_hits is not None and oos_total else None,
        (hits - correct) / negatives if negatives else None,
    )


def recommend(rows: Sequence[Row], target_precision: float) -> Row | None:
    """The threshold with the highest hit rate whose precision reaches the target (None: none does)."""
    passing = [r for r in rows if r.precision >= target_precision and r.hits > 0]
    return max(passing, key=lambda r: (r.hit_rate, -r.threshold)) if passing else None


def format_table(rows: Sequence[Row], marked: float | None = None) -> str:
    """A plain-text table of the rows."""
    has_oos = any(r.out_of_scope_hit_rate is not None for r in rows)
    has_false = any(r.false_match_rate is not None for r in rows)
    header = f"{'threshold':>9} {'hit rate':>9} {'precision':>9} {'recall':>7} {'F1':>6}"
    header += f" {'oos hits':>8}" if has_oos else ""
    header += f" {'false matches':>13}" if has_false else ""
    lines = [header]
    for r in rows:
        line = f"{r.threshold:>9.2f} {r.hit_rate:>9.1%} {r.precision:>9.2%} {r.recall:>7.1%} {r.f1:>6.3f}"
        if has_oos:
            line += f" {r.out_of_scope_hit_rate or 0:>8.1%}"
        if has_false:
            line += f" {r.false_match_rate or 0:>13.1%}"
        if marked is not None and abs(r.threshold - marked) < 1e-9:
            line += "  <- recommended"
        lines.append(line)
    return "\n".join(lines)
