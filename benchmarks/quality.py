"""Hit quality on public labelled data: the seed's threshold, the previous default and the learned verifier.

Protocol (the live cache's own code: :mod:`litellm_semcache.evaluation`, the rule stages of
:class:`~litellm_semcache.verification.Verifier`, the shipped :class:`LearnedVerifier` and the
:class:`~litellm_semcache.embedding.Embedder`):

* intent sets: fill the cache from a train split, query with a held-out split; a hit is correct when the
  intents match. Banking77 train -> test; CLINC150 train -> test + 1,000 out-of-scope queries (which should
  never hit). Nearest neighbours by exact search;
* Quora question pairs and the hand-written hard cases: a cache holding only ``a`` is asked ``b``;
  a match is right when the pair is labelled the same question.

Everything is chosen on validation data the verifier never trained on (Banking77 train, 10% held out per
intent; CLINC150 val + oos_val; Quora ``dev``, 10% held out; the hard cases' dev split): the calibration
profile the package ships (target precision -> cosine gate, candidates judged, verifier score), and which
contrast-guard checks stay on. Test splits are reported, never used to choose.

    python -m benchmarks.quality            # writes benchmarks/results/quality.{json,md}, quality.png and
                                            # litellm_semcache/artifacts/verifier/profile.json
    python -m benchmarks.quality --quick    # a slice of each set, nothing written
"""

from __future__ import annotations

import argparse
import csv
import os
import random
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import numpy as np

from benchmarks.common import (
    BENCH_DIR,
    RESULTS_DIR,
    add_data_dir_option,
    command_line,
    log,
    resolve_data_dir,
    write_results,
)
from benchmarks.quality_report import markdown, plot_curves
from litellm_semcache.embedding import Embedder
from litellm_semcache.evaluation import (
    GateRow,
    IntentSet,
    PairSet,
    ScoredQueries,
    build_profile,
    candidate_matrix,
    embed_all,
    load_intent_split,
    nearest_candidates,
    sweep,
    with_rules,
    with_scores,
)
from litellm_semcache.evaluation.data import holdout_pairs, holdout_split
from litellm_semcache.settings import ALL_CONTRAST_CHECKS, ContrastCheck, SemCacheSettings
from litellm_semcache.store import Candidate
from litellm_semcache.text import normalize_text
from litellm_semcache.verification import Verifier
from litellm_semcache.verification.learned import LearnedVerifier
from litellm_semcache.verification.profile import SHIPPED_PROFILE, CalibrationProfile, Gates

MODULE = "benchmarks.quality"
HARD = BENCH_DIR / "data" / "hard_cases.csv"
QUICK_LIMIT = 600  # queries per set with --quick
MAX_N = 4  # nearest candidates the verifier may judge
MIN_GATE = 0.5  # nothing below this cosine is ever judged
GATES = (0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85)
TOP_NS = (1, 2, 3, 4)
SCORES = tuple(round(0.025 * i, 3) for i in range(1, 40)) + (0.99, 0.995)
#: The sets whose validation precision a profile row must reach (the issue's "intent sets").
PROFILE_SETS = ("Banking77", "CLINC150 (+oos)")
#: Where a contrast check must add precision to be kept: the intent sets and the hard-case dev pairs.
CHECK_SETS = (*PROFILE_SETS, "hard cases")
#: Previous releases' pipelines, reported beside the new default: (name, settings, threshold).
RULE_PIPELINES: tuple[tuple[str, dict[str, Any], float], ...] = (
    (
        "seed: threshold 0.92",
        {"contrast_guard": False, "instruction_guard": False, "payload_guard": False},
        0.92,
    ),
    (
        "threshold only 0.82",
        {"contrast_guard": False, "instruction_guard": False, "payload_guard": False},
        0.82,
    ),
    ("previous default: 0.82 + contrast guard", {"instruction_guard": False, "payload_guard": False}, 0.82),
)


# --- data ----------------------------------------------------------------------------------------------
@dataclass
class Case:
    """One labelled set as the cache sees it: queries, their nearest stored questions, the truth."""

    name: str
    kind: str
    """``intents`` or ``pairs``."""
    queries: list[str]
    candidates: list[list[Candidate]]
    correct: Callable[[int, Candidate], bool]
    answerable: list[bool]
    categories: list[str] | None = None


def _limit(items: IntentSet, n: int | None, seed: int = 1) -> IntentSet:
    if n is None or n >= len(items.texts):
        return items
    chosen = sorted(random.Random(seed).sample(range(len(items.texts)), n))
    return IntentSet([items.texts[i] for i in chosen], [items.labels[i] for i in chosen])


def _limit_pairs(pairs: PairSet, n: int | None, seed: int = 1) -> PairSet:
    if n is None or n >= len(pairs.same):
        return pairs
    chosen = sorted(random.Random(seed).sample(range(len(pairs.same)), n))
    return PairSet(
        [pairs.a[i] for i in chosen], [pairs.b[i] for i in chosen], [pairs.same[i] for i in chosen]
    )


class Vectors:
    """Embeds each distinct text once per run."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder
        self.known: dict[str, np.ndarray[Any, Any]] = {}

    def __call__(self, texts: list[str]) -> np.ndarray[Any, Any]:
        missing = list(dict.fromkeys(t for t in texts if t not in self.known))
        if missing:
            for text, vector in zip(missing, embed_all(self.embedder, missing, progress=False), strict=True):
                self.known[text] = vector
        return np.stack([self.known[t] for t in texts])


def intent_case(name: str, cache: IntentSet, queries: IntentSet, vectors: Vectors, k: int) -> Case:
    found = nearest_candidates(cache, vectors(cache.texts), vectors(queries.texts), k, progress=False)
    known = set(cache.labels)
    labels = queries.labels
    return Case(
        name,
        "intents",
        queries.texts,
        found,
        lambda q, c: c.answer_id == labels[q],
        [x in known for x in labels],
    )


def pair_case(name: str, pairs: PairSet, vectors: Vectors, categories: list[str] | None = None) -> Case:
    va, vb = vectors(pairs.a), vectors(pairs.b)
    found = [
        [Candidate(id="a", query=a, similarity=float(x @ y), answer_id="a", created_at=0.0)]
        for a, x, y in zip(pairs.a, va, vb, strict=True)
    ]
    same = list(pairs.same)
    return Case(name, "pairs", list(pairs.b), found, lambda q, c: same[q], same, categories)


def _qqp(data: Path, split: str) -> PairSet:
    with open(data / "qqp" / "pairs.csv", encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["split"] == split]
    return PairSet([r["a"] for r in rows], [r["b"] for r in rows], [r["same"] == "1" for r in rows])


def _hard(split: str) -> tuple[PairSet, list[str]]:
    with open(HARD, encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["split"] == split]
    pairs = PairSet([r["a"] for r in rows], [r["b"] for r in rows], [r["same"] == "1" for r in rows])
    return pairs, [r["category"] for r in rows]


def build_cases(
    data: Path, vectors: Vectors, k: int, limit: int | None, *, test: bool = True
) -> dict[str, dict[str, Case]]:
    """The validation cases and (unless ``test`` is false) the test cases, by set name (``limit``: queries
    per set)."""
    bank = load_intent_split(str(data / "banking77" / "train.csv"))
    bank_fill, bank_held = holdout_split(bank)
    clinc = str(data / "clinc150" / "data_full.json")
    clinc_train = load_intent_split(f"{clinc}:train")
    _, qqp_held = holdout_pairs(_qqp(data, "dev"))
    hard_dev, hard_test = _hard("dev"), _hard("test")
    log("embedding and searching the validation sets")
    validation = {
        "Banking77": intent_case("Banking77", bank_fill, _limit(bank_held, limit), vectors, k),
        "CLINC150 (+oos)": intent_case(
            "CLINC150", clinc_train, _limit(load_intent_split(f"{clinc}:val+oos_val"), limit), vectors, k
        ),
        "Quora pairs": pair_case("Quora", _limit_pairs(qqp_held, limit), vectors),
        "hard cases": pair_case("hard", hard_dev[0], vectors, hard_dev[1]),
    }
    if not test:
        return {"validation": validation}
    log("embedding and searching the test sets")
    return {
        "validation": validation,
        "test": {
            "Banking77": intent_case(
                "Banking77",
                bank,
                _limit(load_intent_split(str(data / "banking77" / "test.csv")), limit),
                vectors,
                k,
            ),
            "CLINC150 (+oos)": intent_case(
                "CLINC150",
                clinc_train,
                _limit(load_intent_split(f"{clinc}:test+oos_test"), limit),
                vectors,
                k,
            ),
            "Quora pairs": pair_case("Quora", _limit_pairs(_qqp(data, "test"), limit), vectors),
            "hard cases": pair_case("hard", hard_test[0], vectors, hard_test[1]),
        },
    }


# --- scoring -------------------------------------------------------------------------------------------
def scored(case: Case, rules: Verifier, scores: ScoredQueries) -> ScoredQueries:
    """The case's verifier scores under one configuration of the rule stages."""
    flags = with_rules(scores, rules, case.queries, case.candidates)
    return ScoredQueries(flags.similarity, flags.rules, scores.scores, flags.correct, flags.answerable)


def verifier_scores(case: Case, learned: LearnedVerifier) -> ScoredQueries:
    """The verifier's score of each of the ``MAX_N`` nearest candidates at or above ``MIN_GATE``."""
    data = candidate_matrix(case.candidates, case.correct, case.answerable, max_n=MAX_N)
    return with_scores(data, learned.score_pairs, case.queries, case.candidates, min_gate=MIN_GATE)


def grid(data: ScoredQueries) -> list[GateRow]:
    return sweep(data, GATES, TOP_NS, SCORES)


def at(data: ScoredQueries, gates: Gates) -> GateRow:
    (row,) = sweep(data, [gates.gate], [gates.top_n], [gates.score_threshold])
    return row


def rules_only(data: ScoredQueries, threshold: float) -> GateRow:
    """A rules-only pipeline: the nearest candidate, if it reaches the threshold and passes the rules."""
    (row,) = sweep(replace_scores(data, 1.0), [threshold], [1], [0.5])
    return row


def replace_scores(data: ScoredQueries, value: float) -> ScoredQueries:
    return ScoredQueries(
        data.similarity, data.rules, np.full_like(data.scores, value), data.correct, data.answerable
    )


# --- choices (validation only) -------------------------------------------------------------------------
def choose_checks(
    validation: dict[str, Case],
    raw: dict[str, ScoredQueries],
    defaults: SemCacheSettings,
    profile: CalibrationProfile,
) -> tuple[list[ContrastCheck], list[str]]:
    """Keep each contrast-guard check only where it adds precision on validation, with the verifier on:
    switching it off must not lower the precision of any intent set, nor of the hard-case dev pairs (the
    minimal edits the guard exists for), at the default gates."""
    gates = profile.gates(defaults.target_precision)
    base = {n: at(scored(validation[n], Verifier.from_settings(defaults), raw[n]), gates) for n in CHECK_SETS}
    kept: list[ContrastCheck] = []
    notes: list[str] = []
    for check in ALL_CONTRAST_CHECKS:
        others = [c for c in defaults.active_contrast_checks if c != check]
        without = Verifier.from_settings(defaults.with_overrides(contrast_checks=others))
        rows = {n: at(scored(validation[n], without, raw[n]), gates) for n in CHECK_SETS}
        adds = any(rows[n].precision < base[n].precision for n in CHECK_SETS)
        notes.append(
            f"contrast `{check}`: off -> "
            + ", ".join(f"{n} {rows[n].hit_rate:.1%}/{rows[n].precision:.2%}" for n in CHECK_SETS)
            + f" (on: {', '.join(f'{base[n].hit_rate:.1%}/{base[n].precision:.2%}' for n in CHECK_SETS)})"
            + (": kept" if adds else ": adds no precision")
        )
        if adds:
            kept.append(check)
    return kept, notes


def calibrate_profile(
    validation: dict[str, Case], raw: dict[str, ScoredQueries], rules: Verifier, learned: LearnedVerifier
) -> tuple[CalibrationProfile, dict[str, list[GateRow]]]:
    """The shipped profile: on the validation grid, each target's gates with the most intent-set hits."""
    sweeps = {n: grid(scored(validation[n], rules, raw[n])) for n in validation}
    profile = build_profile(
        {n: sweeps[n] for n in PROFILE_SETS},
        verifier=learned.version,
        embedding_model=SemCacheSettings().embedding_model,
        source="benchmarks/quality.py: Banking77 train (10% held out per intent, never trained on) and "
        "CLINC150 val + oos_val; precision must reach the target on both",
    )
    return profile, sweeps


# --- the run -------------------------------------------------------------------------------------------
def pipelines(defaults: SemCacheSettings) -> list[tuple[str, Verifier, float | None]]:
    """The previous releases' rules-only pipelines (with their threshold) and the new default (``None``:
    the profile's gates)."""
    # the previous releases ran every contrast check
    previous = SemCacheSettings(redis_url="redis://unused", contrast_checks=list(ALL_CONTRAST_CHECKS))
    listed: list[tuple[str, Verifier, float | None]] = [
        (name, Verifier.from_settings(previous.with_overrides(**overrides)), threshold)
        for name, overrides, threshold in RULE_PIPELINES
    ]
    name = f"new default: learned verifier, target {defaults.target_precision}"
    listed.append((name, Verifier.from_settings(defaults), None))
    return listed


def exact_hit_loss(cases: dict[str, Case]) -> dict[str, dict[str, int]]:
    """Test queries that repeat a stored question exactly, under the old normalization (case, spacing,
    trailing punctuation folded) and under the text as sent (issue 12): what the stricter ids cost."""
    out = {}
    for name, case in cases.items():
        if case.kind != "intents":
            continue
        stored = {c.query for found in case.candidates for c in found[:1]}
        folded = {normalize_text(t) for t in stored}
        out[name] = {
            "queries": len(case.queries),
            "exact_before": sum(normalize_text(q) in folded for q in case.queries),
            "exact_now": sum(q.strip() in stored for q in case.queries),
        }
    return out


def decide(data: ScoredQueries, threshold: float | None, gates: Gates) -> GateRow:
    return rules_only(data, threshold) if threshold is not None else at(data, gates)


def report_rows(
    cases: dict[str, dict[str, Case]], raw: Any, defaults: SemCacheSettings, gates: Gates
) -> dict[str, dict[str, dict[str, dict[str, Any]]]]:
    """Every pipeline on every set of both splits."""
    rows: dict[str, dict[str, dict[str, dict[str, Any]]]] = {}
    for split, per in cases.items():
        rows[split] = {
            name: {n: asdict(decide(scored(c, v, raw[split][n]), t, gates)) for n, c in per.items()}
            for name, v, t in pipelines(defaults)
        }
    return rows


def report_curves(
    cases: dict[str, dict[str, Case]], raw: Any, defaults: SemCacheSettings, gates: Gates
) -> dict[str, dict[str, list[dict[str, float]]]]:
    """The new default along the verifier score, at its gate and top n, on every set of both splits."""
    rules = Verifier.from_settings(defaults)
    return {
        split: {
            n: [
                asdict(r) for r in sweep(scored(c, rules, raw[split][n]), [gates.gate], [gates.top_n], SCORES)
            ]
            for n, c in per.items()
        }
        for split, per in cases.items()
    }


def hard_categories(
    case: Case, raw: ScoredQueries, defaults: SemCacheSettings, gates: Gates
) -> dict[str, Any]:
    """Matched / pairs per hard-case category, for every pipeline (test split)."""
    assert case.categories is not None
    out = {}
    for name, verifier, threshold in pipelines(defaults):
        data = scored(case, verifier, raw)
        counts: dict[str, list[int]] = {}
        for category in sorted(set(case.categories)):
            keep = np.array([c == category for c in case.categories])
            subset = ScoredQueries(
                data.similarity[keep],
                data.rules[keep],
                data.scores[keep],
                data.correct[keep],
                data.answerable[keep],
            )
            row = decide(subset, threshold, gates)
            counts[category] = [row.hits, len(subset)]
        out[name] = {k: f"{m}/{n}" for k, (m, n) in counts.items()}
    return out


def measure(data: Path, limit: int | None) -> tuple[dict[str, Any], CalibrationProfile]:
    """Embed, score, choose on validation, and report every pipeline on validation and test."""
    defaults = SemCacheSettings(redis_url="redis://unused")
    embedder = Embedder(defaults.embedding_model)
    learned = LearnedVerifier.load()
    cases = build_cases(data, Vectors(embedder), defaults.top_k, limit)
    log("scoring candidates with the learned verifier")
    raw = {split: {n: verifier_scores(c, learned) for n, c in per.items()} for split, per in cases.items()}
    every_check = defaults.with_overrides(contrast_checks=list(ALL_CONTRAST_CHECKS))  # drop one at a time
    first, _ = calibrate_profile(
        cases["validation"], raw["validation"], Verifier.from_settings(every_check), learned
    )
    chosen, notes = choose_checks(cases["validation"], raw["validation"], every_check, first)
    checks = defaults.active_contrast_checks  # the report is what ships
    if sorted(chosen) != sorted(checks):
        notes.append(
            f"validation alone would keep only {', '.join(chosen) or 'none'}; the default keeps "
            f"{', '.join(checks)} (see VERIFIED_CONTRAST_CHECKS: without them the chaos benchmark served "
            "swapped-name answers)"
        )
    defaults = defaults.with_overrides(contrast_checks=checks)
    profile, _ = calibrate_profile(
        cases["validation"], raw["validation"], Verifier.from_settings(defaults), learned
    )
    gates = profile.gates(defaults.target_precision)
    return {
        "model": defaults.embedding_model,
        "verifier": learned.version,
        "top_k": defaults.top_k,
        "target_precision": defaults.target_precision,
        "gates": gates.model_dump(),
        "contrast_checks": checks,
        "selection": notes,
        "profile": profile.model_dump(),
        "sets": {split: list(per) for split, per in cases.items()},
        "rows": report_rows(cases, raw, defaults, gates),
        "curves": report_curves(cases, raw, defaults, gates),
        "hard_categories": hard_categories(
            cases["test"]["hard cases"], raw["test"]["hard cases"], defaults, gates
        ),
        "exact_hit_loss": exact_hit_loss(cases["test"]),
    }, profile


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog=f"python -m {MODULE}", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help=f"{QUICK_LIMIT} queries per set, nothing written"
    )
    parser.add_argument(
        "--output",
        type=Path,
        help="results file stem (default benchmarks/results/quality; quality.png is written beside it; with "
        "--quick, written only if given)",
    )
    parser.add_argument(
        "--no-profile", action="store_true", help="do not write the shipped calibration profile"
    )
    add_data_dir_option(parser)
    args = parser.parse_args(argv)
    data = resolve_data_dir(parser, args.data_dir)
    stem = args.output or RESULTS_DIR / "quality"
    report, profile = measure(data, QUICK_LIMIT if args.quick else None)
    report = {"command": command_line(MODULE, argv), **report}
    text = markdown(report)
    print(text)
    if args.output or not args.quick:
        write_results(stem, report, text)
        plot_curves(report, stem.parent / f"{stem.name}.png")
    if not args.quick and not args.no_profile:
        profile.write(SHIPPED_PROFILE)
        log(f"wrote the calibration profile {SHIPPED_PROFILE}")


if __name__ == "__main__":
    main()
