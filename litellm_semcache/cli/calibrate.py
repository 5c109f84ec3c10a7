"""``litellm-semcache calibrate``: measure thresholds on labelled data and recommend one.

Two kinds of data:

- labelled pairs (CSV or JSONL with ``a``, ``b``, ``same``): a cache holding only ``a`` is asked ``b``;
  a match is right when ``same`` is 1;
- an intent-labelled set (Banking77 CSV ``text,category``, or a CLINC150 ``data_full.json`` split):
  the cache is filled from one split and queried with another; a hit is right when the intents match,
  and queries whose intent is not in the cache (CLINC's ``oos``) should miss.

Embeddings come from the live cache's :class:`~litellm_semcache.embedding.Embedder` and every decision
from its :class:`~litellm_semcache.verification.Verifier`, so a calibrated setting behaves the same in the
proxy. The evaluators are :mod:`litellm_semcache.evaluation`'s.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ..embedding import Embedder
from ..errors import ConfigError
from ..evaluation import (
    IntentSet,
    PairSet,
    Row,
    embed_all,
    format_table,
    load_intent_split,
    load_pairs,
    nearest_candidates,
    pair_similarities,
    recommend,
    score_intents,
    score_pairs,
)
from ..settings import SemCacheSettings
from ..verification import Verifier
from .plot import plot

__all__ = ["PROFILE_SETTINGS", "add_calibrate_parser", "run_calibrate"]


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
    return {n: Verifier.from_settings(settings.with_overrides(**PROFILE_SETTINGS[n])) for n in names}


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
        similarities = pair_similarities(va, vb)
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
