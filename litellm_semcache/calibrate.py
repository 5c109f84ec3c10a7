"""``litellm-semcache calibrate``: measure thresholds on labelled data and recommend one.

Two kinds of data:

- labelled pairs (CSV or JSONL with ``a``, ``b``, ``same``): a cache holding only ``a`` is asked ``b``;
  a match is right when ``same`` is 1;
- an intent-labelled set (Banking77 CSV ``text,category``, or a CLINC150 ``data_full.json`` split):
  the cache is filled from one split and queried with another; a hit is right when the intents match,
  and queries whose intent is not in the cache (CLINC's ``oos``) should miss.

Embeddings come from the live cache's :class:`~litellm_semcache.embedder.Embedder` and every decision
from its :class:`~litellm_semcache.verify.Verifier`, so a calibrated setting behaves the same in the proxy.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from .embedder import Embedder
from .errors import ConfigError
from .labelled_data import OUT_OF_SCOPE, IntentSet, PairSet, load_intent_split, load_pairs
from .settings import SemCacheSettings
from .store import Candidate
from .verify import Verifier

__all__ = [
    "IntentSet",
    "PairSet",
    "Row",
    "add_calibrate_parser",
    "embed_all",
    "evaluate_intents",
    "evaluate_pairs",
    "load_intent_split",
    "load_pairs",
    "nearest_candidates",
    "recommend",
    "run_calibrate",
    "score_intents",
    "score_pairs",
]

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


# --- evaluation --------------------------------------------------------------------------------------------
def _row(
    threshold: float,
    decided: int,
    hits: int,
    correct: int,
    answerable: int,
    oos_hits: int | None = None,
    oos_total: int = 0,
) -> Row:
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
    )


def embed_all(embedder: Embedder, texts: Sequence[str], progress: bool = True) -> np.ndarray[Any, Any]:
    """Vectors for many texts, in batches, with a progress bar (zero rows for texts too long to embed).

    Texts are batched by length, so short ones are not padded to the longest of a random batch.
    """
    from tqdm import tqdm

    vectors = np.zeros((len(texts), embedder.dimensions), dtype=np.float32)
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    batch = 128
    for start in tqdm(
        range(0, len(order), batch), desc="embedding", unit="batch", disable=not progress, file=sys.stderr
    ):
        chunk = order[start : start + batch]
        for index, embedding in zip(chunk, embedder.encode_batch([texts[i] for i in chunk]), strict=True):
            if embedding.vector is not None:
                vectors[index] = embedding.vector
    return vectors


def score_pairs(
    verifier: Verifier,
    pairs: PairSet,
    similarities: np.ndarray[Any, Any],
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
) -> list[Row]:
    """Quality of the decision on labelled pairs (a cache holding only ``a`` is asked ``b``)."""
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
        row = _row(threshold, len(pairs.same), hits, correct, positives)
        rows.append(replace(row, false_match_rate=(hits - correct) / negatives if negatives else None))
    return rows


def evaluate_pairs(
    verifier: Verifier,
    pairs: PairSet,
    embedder: Embedder,
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
    progress: bool = True,
) -> list[Row]:
    """Embed labelled pairs and score them per threshold."""
    va = embed_all(embedder, pairs.a, progress)
    vb = embed_all(embedder, pairs.b, progress)
    return score_pairs(verifier, pairs, np.einsum("ij,ij->i", va, vb), thresholds)


def nearest_candidates(
    cache: IntentSet,
    cache_vectors: np.ndarray[Any, Any],
    query_vectors: np.ndarray[Any, Any],
    k: int,
    progress: bool = True,
) -> list[list[Candidate]]:
    """The k nearest cached texts of every query, most similar first (exact search, brute force).

    The live index is HNSW; its recall against exact search is measured in benchmarks/results/scale.md.
    """
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
        for row, indices in enumerate(top):
            ordered = sorted(indices, key=lambda j: -scores[row, j])
            candidates.append(
                [
                    Candidate(
                        id=str(j),
                        query=cache.texts[j],
                        similarity=float(scores[row, j]),
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
        rows.append(_row(threshold, len(queries.texts), hits, correct, answerable, oos_hits, oos_total))
    return rows


def evaluate_intents(
    verifier: Verifier,
    cache: IntentSet,
    queries: IntentSet,
    embedder: Embedder,
    *,
    k: int = 10,
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
    progress: bool = True,
) -> list[Row]:
    """Fill a cache with one labelled set, query it with another; quality per threshold."""
    cache_vectors = embed_all(embedder, cache.texts, progress)
    query_vectors = embed_all(embedder, queries.texts, progress)
    candidates = nearest_candidates(cache, cache_vectors, query_vectors, k, progress)
    return score_intents(verifier, queries, candidates, set(cache.labels), thresholds, progress)


def recommend(rows: Sequence[Row], target_precision: float) -> Row | None:
    """The threshold with the highest hit rate whose precision reaches the target (None: none does)."""
    passing = [row for row in rows if row.precision >= target_precision and row.hits > 0]
    return max(passing, key=lambda row: (row.hit_rate, -row.threshold)) if passing else None


def format_table(rows: Sequence[Row], marked: float | None = None) -> str:
    """A plain-text table of the rows."""
    has_oos = any(row.out_of_scope_hit_rate is not None for row in rows)
    has_false = any(row.false_match_rate is not None for row in rows)
    header = f"{'threshold':>9} {'hit rate':>9} {'precision':>9} {'recall':>7} {'F1':>6}"
    header += f" {'oos hits':>8}" if has_oos else ""
    header += f" {'false matches':>13}" if has_false else ""
    lines = [header]
    for row in rows:
        line = (
            f"{row.threshold:>9.2f} {row.hit_rate:>9.1%} {row.precision:>9.2%} {row.recall:>7.1%} "
            f"{row.f1:>6.3f}"
        )
        if has_oos:
            line += f" {row.out_of_scope_hit_rate or 0:>8.1%}"
        if has_false:
            line += f" {row.false_match_rate or 0:>13.1%}"
        if marked is not None and abs(row.threshold - marked) < 1e-9:
            line += "  <- recommended"
        lines.append(line)
    return "\n".join(lines)


def plot(
    profiles: Mapping[str, Sequence[Row]],
    path: Path,
    title: str,
    target_precision: float,
    marker: float | None = None,
) -> None:
    """A PNG of precision and hit rate against the threshold, one line pair per verification profile.

    Raises:
        ConfigError: matplotlib is missing (``pip install 'litellm-semcache[calibrate]'``).
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ConfigError("--plot needs matplotlib: pip install 'litellm-semcache[calibrate]'") from exc
    figure, axis = plt.subplots(figsize=(8, 5))
    for (name, rows), color in zip(
        profiles.items(), ("tab:blue", "tab:orange", "tab:green", "tab:red"), strict=False
    ):
        thresholds = [row.threshold for row in rows]
        axis.plot(thresholds, [row.precision for row in rows], color=color, label=f"precision ({name})")
        axis.plot(
            thresholds,
            [row.hit_rate for row in rows],
            color=color,
            linestyle="--",
            label=f"hit rate ({name})",
        )
    axis.axhline(target_precision, color="grey", linewidth=0.8, linestyle=":", label="target precision")
    if marker is not None:
        axis.axvline(
            marker, color="black", linewidth=0.8, linestyle="-.", label=f"chosen threshold {marker:.2f}"
        )
    axis.set_xlabel("similarity threshold")
    axis.set_ylim(0, 1.01)
    axis.set_title(title)
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8, loc="lower left")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


# --- command line ------------------------------------------------------------------------------------------
def add_calibrate_parser(commands: Any) -> None:
    """The ``calibrate`` subcommand."""
    parser = commands.add_parser(
        "calibrate",
        help="threshold vs hit rate/precision on labelled data; recommends a threshold",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--pairs", type=Path, help="CSV/JSONL with a,b,same")
    source.add_argument(
        "--cache", metavar="SPLIT", help="fill the cache from: train.csv or data_full.json:train"
    )
    parser.add_argument(
        "--queries", metavar="SPLIT", help="query with: test.csv or data_full.json:test+oos_test"
    )
    parser.add_argument("--limit", type=int, help="use only the first N pairs/queries (quick runs)")
    parser.add_argument("--target-precision", type=float, default=0.99)
    parser.add_argument("--plot", type=Path, help="write a PNG of precision and hit rate vs threshold")
    parser.add_argument("--json", type=Path, help="write the tables as JSON")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.add_argument(
        "--canonical-answers",
        action="store_true",
        help="also try the answer vote (only meaningful when equal questions store the same answer text, "
        "as in an imported FAQ; intent-labelled sets behave that way)",
    )


#: Settings that name each verification profile `calibrate` compares.
PROFILE_SETTINGS: dict[str, dict[str, Any]] = {
    "threshold only": {"contrast_guard": False, "answer_vote": False},
    "contrast guard": {"contrast_guard": True, "answer_vote": False},
    "contrast guard + answer vote": {"contrast_guard": True, "answer_vote": True},
}


def _profiles(settings: SemCacheSettings, canonical_answers: bool) -> dict[str, Verifier]:
    names = [n for n in PROFILE_SETTINGS if canonical_answers or n != "contrast guard + answer vote"]
    return {n: Verifier.from_settings(settings.model_copy(update=PROFILE_SETTINGS[n])) for n in names}


def run_calibrate(
    args: argparse.Namespace,
    settings: SemCacheSettings,
    embedder_factory: Callable[[], Embedder] | None = None,
) -> int:
    """Run the ``calibrate`` command; returns the exit status."""
    if args.cache and not args.queries:
        raise ConfigError("--cache needs --queries")
    embedder = (embedder_factory or (lambda: Embedder(settings.embedding_model)))()
    progress = not args.quiet
    profiles = _profiles(settings, args.canonical_answers)
    results: dict[str, list[Row]] = {}
    if args.pairs:
        pairs = load_pairs(args.pairs)
        if args.limit:
            pairs = PairSet(pairs.a[: args.limit], pairs.b[: args.limit], pairs.same[: args.limit])
        va, vb = embed_all(embedder, pairs.a, progress), embed_all(embedder, pairs.b, progress)
        similarities = np.einsum("ij,ij->i", va, vb)
        for name, verifier in profiles.items():
            results[name] = score_pairs(verifier, pairs, similarities)
    else:
        cache, queries = load_intent_split(args.cache), load_intent_split(args.queries)
        if args.limit:
            queries = IntentSet(queries.texts[: args.limit], queries.labels[: args.limit])
        cache_vectors = embed_all(embedder, cache.texts, progress)
        candidates = nearest_candidates(
            cache, cache_vectors, embed_all(embedder, queries.texts, progress), settings.top_k, progress
        )
        for name, verifier in profiles.items():
            results[name] = score_intents(verifier, queries, candidates, set(cache.labels), progress=progress)
    best: tuple[str, Row] | None = None
    for name, rows in results.items():
        pick = recommend(rows, args.target_precision)
        print(f"\n== {name} ==")
        print(format_table(rows, pick.threshold if pick else None))
        if pick and (best is None or pick.hit_rate > best[1].hit_rate):
            best = (name, pick)
    print()
    if best is None:
        print(
            f"no threshold reaches precision {args.target_precision:.1%}; the best precision was "
            f"{max(r.precision for rows in results.values() for r in rows):.2%}"
        )
    else:
        name, row = best
        print(
            f"recommended: similarity_threshold {row.threshold:.2f} with verification '{name}' "
            f"(hit rate {row.hit_rate:.1%}, precision {row.precision:.2%}, "
            f"target {args.target_precision:.1%})"
        )
    if args.plot:
        plot(results, args.plot, f"{args.pairs or args.queries}", args.target_precision)
        print(f"plot: {args.plot}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "recommended": {"profile": best[0], **asdict(best[1])} if best else None,
                    "target_precision": args.target_precision,
                    "profiles": {name: [asdict(row) for row in rows] for name, rows in results.items()},
                },
                indent=2,
            )
        )
    return 0 if best is not None else 1
