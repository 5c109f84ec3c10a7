"""``litellm-semcache calibrate``: measure the cache's decisions on your labelled data, and write the
calibration profile the proxy reads (``--write-profile``, then ``calibration_profile:`` in the YAML).

Two kinds of data:

- labelled pairs (CSV or JSONL with ``a``, ``b``, ``same``): a cache holding only ``a`` is asked ``b``;
  a match is right when ``same`` is 1;
- an intent-labelled set (Banking77 CSV ``text,category``, or a CLINC150 ``data_full.json`` split):
  the cache is filled from one split and queried with another; a hit is right when the intents match,
  and queries whose intent is not in the cache (CLINC's ``oos``) should miss.

Embeddings come from the live cache's :class:`~litellm_semcache.embedding.Embedder`, the rule stages from
its :class:`~litellm_semcache.verification.Verifier` and the scores from the shipped learned verifier, so a
calibrated setting behaves the same in the proxy. The evaluators are :mod:`litellm_semcache.evaluation`'s.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..embedding import Embedder
from ..errors import ConfigError
from ..evaluation import (
    PROFILE_TARGETS,
    IntentSet,
    PairSet,
    Row,
    build_profile,
    embed_all,
    format_table,
    load_intent_split,
    load_pairs,
    nearest_candidates,
    pair_similarities,
    recommend,
    score_intents,
    score_pairs,
    score_queries,
    sweep,
)
from ..policies import named_policy_settings
from ..settings import SemCacheSettings
from ..store import Candidate
from ..verification import Verifier
from ..verification.learned import LearnedVerifier
from ..verification.profile import CalibrationProfile
from .plot import plot

__all__ = ["PROFILE_SETTINGS", "add_calibrate_parser", "run_calibrate"]

#: The gates the learned verifier's table sweeps.
GATES = (0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85)
TOP_NS = (1, 2, 3, 4)
SCORES = tuple(round(0.025 * i, 3) for i in range(1, 40)) + (0.99, 0.995)


def add_calibrate_parser(commands: Any) -> None:
    """The ``calibrate`` subcommand."""
    parser = commands.add_parser(
        "calibrate",
        help="hit rate/precision of the cache's decisions on labelled data; writes a calibration profile",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--pairs", type=Path, help="CSV/JSONL with a,b,same")
    source.add_argument(
        "--cache", metavar="SPLIT", help="fill the cache from: train.csv or data_full.json:train"
    )
    source.add_argument(
        "--cacheability",
        type=Path,
        metavar="FILE",
        help="measure the cacheability filter on a CSV of text,cacheable (1/0) [,class]: a confusion table",
    )
    parser.add_argument(
        "--queries", metavar="SPLIT", help="query with: test.csv or data_full.json:test+oos_test"
    )
    parser.add_argument("--limit", type=int, help="use only the first N pairs/queries (quick runs)")
    parser.add_argument("--target-precision", type=float, default=0.99)
    parser.add_argument("--plot", type=Path, help="write a PNG of precision and hit rate vs threshold")
    parser.add_argument("--json", type=Path, help="write the tables as JSON")
    parser.add_argument(
        "--write-profile",
        type=Path,
        metavar="PATH",
        help="write the learned verifier's calibration profile (target precision -> gates) measured on "
        "these data; point `calibration_profile` at it",
    )
    parser.add_argument(
        "--write-calibration",
        type=Path,
        metavar="PATH",
        help="with --cacheability: fit the classifier to these labels (the shift of the general class "
        "that keeps at most --keep-out-budget of the cacheable questions out and the most of the others) "
        "and write it; point `cacheability_calibration` at it",
    )
    parser.add_argument(
        "--policy",
        metavar="NAME",
        help="with --cacheability: measure (and fit) as for requests under this policy",
    )
    parser.add_argument(
        "--keep-out-budget",
        type=float,
        default=0.05,
        metavar="SHARE",
        help="with --write-calibration: the share of cacheable questions that may be kept out (0.05)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.add_argument(
        "--canonical-answers",
        action="store_true",
        help="also try the answer vote (only meaningful when equal questions store the same answer text, "
        "as in an imported FAQ; intent-labelled sets behave that way)",
    )


#: Settings that name each rules-only verification profile `calibrate` compares.
PROFILE_SETTINGS: dict[str, dict[str, Any]] = {
    "threshold only": {"contrast_guard": False, "answer_vote": False, "learned_verifier": False},
    "contrast guard": {"contrast_guard": True, "answer_vote": False, "learned_verifier": False},
    "contrast guard + answer vote": {"contrast_guard": True, "answer_vote": True, "learned_verifier": False},
}


@dataclass
class _Data:
    """The labelled data as the cache meets it: each query's nearest stored questions, and the truth."""

    name: str
    queries: list[str]
    candidates: list[list[Candidate]]
    correct: Callable[[int, Candidate], bool]
    answerable: list[bool]
    rules_only: Callable[[Verifier], list[Row]]


def _profiles(settings: SemCacheSettings, canonical_answers: bool) -> dict[str, Verifier]:
    names = [n for n in PROFILE_SETTINGS if canonical_answers or n != "contrast guard + answer vote"]
    return {n: Verifier.from_settings(settings.with_overrides(**PROFILE_SETTINGS[n])) for n in names}


def _pairs_data(args: argparse.Namespace, embedder: Embedder, progress: bool) -> _Data:
    pairs = load_pairs(args.pairs)
    if args.limit:
        pairs = PairSet(pairs.a[: args.limit], pairs.b[: args.limit], pairs.same[: args.limit])
    similarities = pair_similarities(
        embed_all(embedder, pairs.a, progress), embed_all(embedder, pairs.b, progress)
    )
    found = [
        [Candidate(id="a", query=a, similarity=float(s), answer_id="a", created_at=0.0)]
        for a, s in zip(pairs.a, similarities, strict=True)
    ]
    same = list(pairs.same)
    return _Data(
        str(args.pairs),
        list(pairs.b),
        found,
        lambda q, c: same[q],
        same,
        lambda verifier: score_pairs(verifier, pairs, similarities),
    )


def _intent_data(args: argparse.Namespace, embedder: Embedder, k: int, progress: bool) -> _Data:
    cache, queries = load_intent_split(args.cache), load_intent_split(args.queries)
    if args.limit:
        queries = IntentSet(queries.texts[: args.limit], queries.labels[: args.limit])
    cache_vectors = embed_all(embedder, cache.texts, progress)
    found = nearest_candidates(
        cache, cache_vectors, embed_all(embedder, queries.texts, progress), k, progress
    )
    known, labels = set(cache.labels), queries.labels
    return _Data(
        str(args.queries),
        queries.texts,
        found,
        lambda q, c: c.answer_id == labels[q],
        [label in known for label in labels],
        lambda verifier: score_intents(verifier, queries, found, known, progress=progress),
    )


def _rules_tables(
    data: _Data, profiles: dict[str, Verifier], target: float
) -> tuple[dict[str, list[Row]], Any]:
    """The rules-only pipelines (``learned_verifier: false``) per threshold; the best at the target."""
    results = {name: data.rules_only(verifier) for name, verifier in profiles.items()}
    best: tuple[str, Row] | None = None
    for name, rows in results.items():
        pick = recommend(rows, target)
        print(f"\n== rules only: {name} ==")
        print(format_table(rows, pick.threshold if pick else None))
        if pick and (best is None or pick.hit_rate > best[1].hit_rate):
            best = (name, pick)
    return results, best


def _learned_table(
    data: _Data, settings: SemCacheSettings, learned: LearnedVerifier, progress: bool
) -> CalibrationProfile | None:
    """The learned verifier (the default pipeline): per target precision, the gates with the most hits."""
    scored = score_queries(
        Verifier.from_settings(settings),
        learned.score_pairs,
        data.queries,
        data.candidates,
        data.correct,
        data.answerable,
        max_n=max(TOP_NS),
        min_gate=min(GATES),
    )
    rows = sweep(scored, GATES, TOP_NS, SCORES)
    try:
        profile = build_profile(
            {data.name: rows},
            verifier=learned.version,
            embedding_model=settings.embedding_model,
            source=f"litellm-semcache calibrate on {data.name}",
            targets=PROFILE_TARGETS,
        )
    except ValueError:
        print("\n== learned verifier ==\nno setting of the gates reaches any target precision on these data")
        return None
    print("\n== learned verifier (the default pipeline) ==")
    print(f"{'target':>7} {'gate':>5} {'top n':>5} {'score':>6} {'hit rate':>9} {'precision':>9}")
    for gates in profile.rows:
        hit_rate, precision = (
            gates.measured[f"{data.name}_hit_rate"],
            gates.measured[f"{data.name}_precision"],
        )
        setting = f"{gates.gate:>5.2f} {gates.top_n:>5} {gates.score_threshold:>6.3f}"
        print(f"{gates.target_precision:>7.3f} {setting} {hit_rate:>9.1%} {precision:>9.2%}")
    return profile


def _summary(best: Any, profile: CalibrationProfile | None, target: float) -> bool:
    """Print the recommendation; whether the target is reached by either pipeline."""
    print()
    if profile is not None and profile.reaches(target):
        gates = profile.gates(target)
        print(
            f"recommended: target_precision {target} (learned verifier: gate {gates.gate:.2f}, "
            f"top {gates.top_n}, score >= {gates.score_threshold:.3f}); write it with --write-profile"
        )
        return True
    if best is not None:
        name, row = best
        print(
            f"recommended: learned_verifier false, similarity_threshold {row.threshold:.2f} with "
            f"verification '{name}' (hit rate {row.hit_rate:.1%}, precision {row.precision:.2%})"
        )
        return True
    print(f"no setting reaches precision {target:.1%} on these data")
    return False


def run_calibrate(
    args: argparse.Namespace,
    settings: SemCacheSettings,
    embedder_factory: Callable[[], Embedder] | None = None,
) -> int:
    """Run the ``calibrate`` command; returns the exit status."""
    if args.cache and not args.queries:
        raise ConfigError("--cache needs --queries")
    if args.write_calibration and not args.cacheability:
        raise ConfigError("--write-calibration needs --cacheability FILE")
    if not 0.0 <= args.keep_out_budget <= 1.0:
        raise ConfigError("--keep-out-budget is a share between 0 and 1")
    if args.policy and not args.cacheability:
        raise ConfigError("--policy needs --cacheability FILE")
    if args.cacheability:
        from .cacheability_report import fit_calibration, run_cacheability

        if args.policy:
            settings = named_policy_settings(settings, args.policy)
        if args.write_calibration:
            if not fit_calibration(
                args.cacheability, settings, args.write_calibration, args.keep_out_budget, embedder_factory
            ):
                return 1
            where = f" in policy {args.policy}" if args.policy else ""
            print(f"set cacheability_calibration: {args.write_calibration}{where}")
            settings = settings.with_overrides(cacheability_calibration=args.write_calibration)
            print("\nwith the calibration:")
        return run_cacheability(args.cacheability, settings, embedder_factory)
    embedder = (embedder_factory or (lambda: Embedder(settings.embedding_model)))()
    progress = not args.quiet
    data = (
        _pairs_data(args, embedder, progress)
        if args.pairs
        else _intent_data(args, embedder, settings.top_k, progress)
    )
    results, best = _rules_tables(data, _profiles(settings, args.canonical_answers), args.target_precision)
    profile = None
    if settings.learned_verifier or args.write_profile:
        profile = _learned_table(data, settings, LearnedVerifier.load(), progress)
    reached = _summary(best, profile, args.target_precision)
    if args.write_profile:
        if profile is None:
            raise ConfigError("no calibration profile to write: no target precision is reached on these data")
        profile.write(args.write_profile)
        print(f"profile: {args.write_profile} (set calibration_profile: {args.write_profile})")
    if args.plot:
        plot(results, args.plot, data.name, args.target_precision)
        print(f"plot: {args.plot}")
    if args.json:
        args.json.write_text(_json(results, best, profile, args.target_precision))
    return 0 if reached else 1


def _json(results: dict[str, list[Row]], best: Any, profile: CalibrationProfile | None, target: float) -> str:
    return json.dumps(
        {
            "recommended": {"profile": best[0], **asdict(best[1])} if best else None,
            "target_precision": target,
            "profiles": {name: [asdict(row) for row in rows] for name, rows in results.items()},
            "learned_verifier": profile.model_dump() if profile is not None else None,
        },
        indent=2,
    )
