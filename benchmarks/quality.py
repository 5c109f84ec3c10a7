"""Hit quality: the seed's fixed threshold next to the project's default pipeline, on public labelled data.

Protocol (the same code as ``litellm-semcache calibrate``: :mod:`litellm_semcache.evaluation` and the live
cache's :class:`~litellm_semcache.verification.Verifier` and :class:`~litellm_semcache.embedding.Embedder`):

* intent sets: fill the cache from a train split, query with a test split; a hit is correct when the
  intents match. Banking77 train -> test; CLINC150 train -> test + 1,000 out-of-scope queries (which
  should never hit). Nearest neighbours by exact search (the live HNSW index is checked against exact
  search by ``python -m benchmarks.scale``);
* hard cases (``benchmarks/data/hard_cases.csv``): a cache holding only ``a`` is asked ``b``; pairs that
  differ by a number, unit or direction, negation, antonym or swapped entity must not match, true
  paraphrases with little word overlap should.

Defaults are chosen on validation data only (Banking77 train split 80/20, seed 0; CLINC150 val + oos_val;
hard-case dev split) by the rules printed below, then reported on test. Banking77 and CLINC150 are read
from ``--data-dir`` (default ``$SEMCACHE_DATA_DIR``, else ``../shared/data`` beside the repository).

    python -m benchmarks.quality            # writes benchmarks/results/quality.{json,md} and calibration.png
    python -m benchmarks.quality --quick    # a slice of each set, nothing written
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import random
import statistics
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypedDict

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import numpy as np

from benchmarks.common import (
    BENCH_DIR,
    RESULTS_DIR,
    add_data_dir_option,
    command_line,
    resolve_data_dir,
    write_results,
)
from litellm_semcache.embedding import Embedder
from litellm_semcache.evaluation import (
    DEFAULT_THRESHOLDS,
    IntentSet,
    PairSet,
    Row,
    embed_all,
    load_intent_split,
    nearest_candidates,
    pair_similarities,
    score_intents,
    score_pairs,
)
from litellm_semcache.settings import SemCacheSettings
from litellm_semcache.store import Candidate
from litellm_semcache.verification import Verifier

MODULE = "benchmarks.quality"
HARD = BENCH_DIR / "data" / "hard_cases.csv"
SEED_THRESHOLD = 0.92
TARGETS = {"banking77": 0.985, "clinc150": 0.99}
QUICK_LIMIT = 600  # queries per set with --quick


# --- data ----------------------------------------------------------------------------------------------
def _banking(data: Path, split: str) -> IntentSet:
    return load_intent_split(str(data / "banking77" / f"{split}.csv"))


def _clinc(data: Path, *splits: str) -> IntentSet:
    return load_intent_split(f"{data / 'clinc150' / 'data_full.json'}:{'+'.join(splits)}")


def _stratified_split(items: IntentSet, share: float, seed: int) -> tuple[IntentSet, IntentSet]:
    by_label: dict[str, list[int]] = defaultdict(list)
    for i, label in enumerate(items.labels):
        by_label[label].append(i)
    rng = random.Random(seed)
    fit, held = [], []
    for label in sorted(by_label):
        indices = by_label[label][:]
        rng.shuffle(indices)
        cut = round(len(indices) * share)
        held += indices[:cut]
        fit += indices[cut:]

    def pick(idx: list[int]) -> IntentSet:
        return IntentSet([items.texts[i] for i in idx], [items.labels[i] for i in idx])

    return pick(sorted(fit)), pick(sorted(held))


def _hard(split: str) -> tuple[PairSet, list[str]]:
    with open(HARD, encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["split"] == split]
    return PairSet([r["a"] for r in rows], [r["b"] for r in rows], [r["same"] == "1" for r in rows]), [
        r["category"] for r in rows
    ]


@dataclass
class IntentCase:
    name: str
    queries: IntentSet
    candidates: list[list[Candidate]]
    known: set[str]


@dataclass
class PairCase:
    name: str
    pairs: PairSet
    similarities: np.ndarray[Any, Any]
    categories: list[str]


class Profile(TypedDict):
    """A pipeline reported at one threshold."""

    name: str
    verifier: Verifier
    threshold: float


class Vectors:
    """Embeds each distinct text once per run."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder
        self.known: dict[str, np.ndarray[Any, Any]] = {}

    def __call__(self, texts: list[str]) -> np.ndarray[Any, Any]:
        missing = list(dict.fromkeys(t for t in texts if t not in self.known))
        if missing:
            for text, vector in zip(missing, embed_all(self.embedder, missing), strict=True):
                self.known[text] = vector
        return np.stack([self.known[t] for t in texts])


def _intent_case(name: str, cache: IntentSet, queries: IntentSet, vectors: Vectors, k: int) -> IntentCase:
    candidates = nearest_candidates(cache, vectors(cache.texts), vectors(queries.texts), k, progress=False)
    return IntentCase(name, queries, candidates, set(cache.labels))


def _pair_case(name: str, split: str, vectors: Vectors) -> PairCase:
    pairs, categories = _hard(split)
    similarities = pair_similarities(vectors(pairs.a), vectors(pairs.b))
    return PairCase(name, pairs, similarities, categories)


def _limit(items: IntentSet, n: int | None, seed: int = 1) -> IntentSet:
    if n is None or n >= len(items.texts):
        return items
    chosen = sorted(random.Random(seed).sample(range(len(items.texts)), n))
    return IntentSet([items.texts[i] for i in chosen], [items.labels[i] for i in chosen])


# --- scoring -------------------------------------------------------------------------------------------
def _sweep(
    verifier: Verifier, case: IntentCase | PairCase, thresholds: Any = DEFAULT_THRESHOLDS
) -> list[Row]:
    if isinstance(case, PairCase):
        return score_pairs(verifier, case.pairs, case.similarities, thresholds)
    return score_intents(verifier, case.queries, case.candidates, case.known, thresholds, progress=False)


def _at(rows: list[Row], threshold: float) -> Row:
    return min(rows, key=lambda row: abs(row.threshold - threshold))


def _wilson_lower(correct: int, total: int, z: float = 1.645) -> float:
    """One-sided 95% lower bound of a proportion (a precision picked exactly at its target would fall below
    the target about half the time on new data)."""
    if total == 0:
        return 0.0
    p = correct / total
    centre = p + z * z / (2 * total)
    margin = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total))
    return (centre - margin) / (1 + z * z / total)


def choose_default_threshold(hard_dev: list[Row]) -> float:
    """Rule for the default pipeline (contrast guard, no answer vote): the strictest threshold at which the
    hard-case dev split still matches at least half of the true paraphrases with at most 2.5% false
    matches. Precision first, as long as paraphrases still hit."""
    passing = [r.threshold for r in hard_dev if r.recall >= 0.5 and (r.false_match_rate or 0.0) <= 0.025]
    return max(passing)


def choose_vote_threshold(bank: list[Row], clinc: list[Row], hard_dev: list[Row]) -> float | None:
    """Rule for the canonical-answers profile (guard + answer vote): the most validation hits (Banking77 and
    CLINC150 together) whose validation precision reaches the targets by its 95% lower bound, with no
    out-of-scope hit and the hard-case dev target met."""
    best: tuple[int, float] | None = None
    for b, c, h in zip(bank, clinc, hard_dev, strict=True):
        if (
            _wilson_lower(b.correct, b.hits) < TARGETS["banking77"]
            or _wilson_lower(c.correct, c.hits) < TARGETS["clinc150"]
        ):
            continue
        if (c.out_of_scope_hit_rate or 0) > 0 or h.recall < 0.5 or (h.false_match_rate or 0) > 0.025:
            continue
        if best is None or b.hits + c.hits > best[0]:
            best = (b.hits + c.hits, b.threshold)
    return best[1] if best else None


def _rule(chooser: Any) -> str:
    return " ".join(chooser.__doc__.split(":", 1)[1].split())


def _per_category(verifier: Verifier, case: PairCase, threshold: float) -> dict[str, str]:
    matched: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for i, category in enumerate(case.categories):
        candidate = Candidate(
            id="a",
            query=case.pairs.a[i],
            similarity=float(case.similarities[i]),
            answer_id="a",
            created_at=0.0,
        )
        matched[category][0] += verifier.decide(case.pairs.b[i], [candidate], threshold).hit is not None
        matched[category][1] += 1
    return {category: f"{m}/{n}" for category, (m, n) in sorted(matched.items())}


def _decide_cost_us(verifier: Verifier, case: IntentCase, threshold: float) -> dict[str, float]:
    timings = []
    for text, found in zip(case.queries.texts, case.candidates, strict=True):
        started = time.perf_counter()
        verifier.decide(text, found, threshold)
        timings.append((time.perf_counter() - started) * 1e6)
    timings.sort()
    return {
        "mean": round(statistics.fmean(timings), 1),
        "p50": round(timings[len(timings) // 2], 1),
        "p99": round(timings[int(len(timings) * 0.99)], 1),
    }


def _long_prompt_check(embedder: Embedder) -> dict[str, Any]:
    """Two prompts that agree on their first 256 word pieces: what a truncating embedder sees; what we do."""
    prefix = " ".join(
        f"Paragraph {i}: the committee reviewed the quarterly logistics figures." for i in range(40)
    )
    red = prefix + " Question: should the new warehouse be painted red?"
    blue = prefix + " Question: should the new warehouse be demolished instead?"
    truncated = embedder.load().encode([red, blue], normalize_embeddings=True)
    ours = embedder.encode_batch([red, blue])
    return {
        "tokens": [e.tokens for e in ours],
        "window": embedder.input_window,
        "similarity_if_truncated": round(float(truncated[0] @ truncated[1]), 4),
        "embedded_by_semcache": [e.vector is not None for e in ours],
        "decision": "exact match only (no vector): the two never match by meaning",
    }


# --- report --------------------------------------------------------------------------------------------
def _cell(row: Row) -> str:
    if row.false_match_rate is not None:
        return f"{row.false_match_rate:.1%} / {row.recall:.1%}"
    text = f"{row.hit_rate:.1%} / {row.precision:.2%}"
    return text + (f" / {row.out_of_scope_hit_rate:.1%}" if row.out_of_scope_hit_rate is not None else "")


def _markdown(report: dict[str, Any]) -> str:
    lines = [f"Command: `{report['command']}`", ""]
    for split in ("validation", "test"):
        names = report["sets"][split]
        lines += [
            f"### {split.capitalize()}",
            "",
            "| pipeline | threshold | " + " | ".join(names) + " |",
            "|---|---:|" + "---|" * len(names),
        ]
        for profile in report["profiles"]:
            cells = [report["table"][split][profile["name"]][name] for name in names]
            lines.append(f"| {profile['name']} | {profile['threshold']:.2f} | " + " | ".join(cells) + " |")
        lines.append("")
    lines += [
        "Cells: intent sets `hit rate / precision [/ out-of-scope hit rate]`; hard cases "
        "`false matches (of different-question pairs) / matches (of true paraphrases)`.",
        "",
        "### Hard cases (test) per category, matched / pairs",
        "",
        "| pipeline | " + " | ".join(report["hard_categories_names"]) + " |",
        "|---|" + "---:|" * len(report["hard_categories_names"]),
    ]
    for name, counts in report["hard_categories"].items():
        lines.append(f"| {name} | " + " | ".join(counts[c] for c in report["hard_categories_names"]) + " |")
    lines += ["", "### How the defaults were chosen (validation only)", ""]
    lines += [f"- {line}" for line in report["selection"]]
    lines += [
        "",
        f"Verification cost per query (default pipeline, CLINC150 test): {report['decide_cost_us']} µs.",
        "",
        f"Long prompts: {json.dumps(report['long_prompt'])}",
        "",
    ]
    return "\n".join(lines)


#: The intent sets' lines in the calibration plot: (field of a sweep row, what it is, width, alpha).
_INTENT_LINES = (("precision", "precision", 2, None), ("hit_rate", "hit rate", 1, 0.6))
#: The hard cases' lines: (field of a sweep row, what it is, colour).
_PAIR_LINES = (
    ("false_match_rate", "false matches", "tab:red"),
    ("recall", "true paraphrases matched", "tab:green"),
)


def _line(axis: Any, rows: Sequence[Mapping[str, Any]], field: str, **style: Any) -> None:
    axis.plot([r["threshold"] for r in rows], [r[field] for r in rows], **style)


def plot_calibration(report: dict[str, Any], path: Path) -> None:
    """Validation sweeps: precision and hit rate on the intent sets (left), false and true matches on the
    hard cases (right), for the plain threshold and the contrast guard, with the shipped threshold marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sweeps = report["validation_sweeps"]
    chosen = next(p["threshold"] for p in report["profiles"] if p["name"].startswith("default"))
    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4.8))
    styles = {"seed": ("threshold only", ":"), "default": ("contrast guard", "-")}
    for key, (label, line) in styles.items():
        for case, color in (("Banking77", "tab:blue"), ("CLINC150 (+oos)", "tab:red")):
            for field, what, width, alpha in _INTENT_LINES:
                _line(
                    left,
                    sweeps[key][case],
                    field,
                    color=color,
                    linestyle=line,
                    linewidth=width,
                    alpha=alpha,
                    label=f"{case} {what}, {label}",
                )
        for field, what, color in _PAIR_LINES:
            _line(
                right,
                sweeps[key]["hard cases"],
                field,
                color=color,
                linestyle=line,
                linewidth=2,
                label=f"{what}, {label}",
            )
    for axis, title in ((left, "Banking77 / CLINC150 validation"), (right, "hard cases, dev split")):
        axis.axvline(chosen, color="black", linewidth=0.8, linestyle="-.", label=f"default {chosen:.2f}")
        axis.set_xlabel("similarity threshold")
        axis.set_ylim(0, 1.01)
        axis.set_title(title)
        axis.grid(alpha=0.3)
        axis.legend(fontsize=7, loc="lower left")
    right.axhline(0.5, color="grey", linewidth=0.6, linestyle=":")
    right.axhline(0.025, color="grey", linewidth=0.6, linestyle=":")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


# --- the run -------------------------------------------------------------------------------------------
Case = IntentCase | PairCase


def build_cases(
    data: Path, vectors: Vectors, k: int, limit: int | None
) -> tuple[dict[str, Case], dict[str, Case]]:
    """The validation cases and the test cases, by set name (``limit``: queries per intent set)."""
    bank_fit, bank_held = _stratified_split(_banking(data, "train"), 0.2, seed=0)
    validation: dict[str, Case] = {
        "Banking77": _intent_case("Banking77", bank_fit, _limit(bank_held, limit), vectors, k),
        "CLINC150 (+oos)": _intent_case(
            "CLINC150", _clinc(data, "train"), _limit(_clinc(data, "val", "oos_val"), limit), vectors, k
        ),
        "hard cases": _pair_case("hard dev", "dev", vectors),
    }
    test: dict[str, Case] = {
        "Banking77": _intent_case(
            "Banking77", _banking(data, "train"), _limit(_banking(data, "test"), limit), vectors, k
        ),
        "CLINC150 (+oos)": _intent_case(
            "CLINC150", _clinc(data, "train"), _limit(_clinc(data, "test", "oos_test"), limit), vectors, k
        ),
        "hard cases": _pair_case("hard test", "test", vectors),
    }
    return validation, test


def verifiers(defaults: SemCacheSettings) -> dict[str, Verifier]:
    """The seed's plain threshold, the default pipeline, and the default pipeline with the answer vote."""
    return {
        "seed": Verifier.threshold_only(),
        "default": Verifier.from_settings(defaults),
        "vote": Verifier.from_settings(defaults.model_copy(update={"answer_vote": True})),
    }


def choose_profiles(
    sweeps: dict[str, dict[str, list[Row]]], verifier: dict[str, Verifier], defaults: SemCacheSettings
) -> tuple[list[Profile], list[str]]:
    """The pipelines to report, each at its threshold chosen on validation data; how they were chosen."""
    chosen_default = choose_default_threshold(sweeps["default"]["hard cases"])
    vote = sweeps["vote"]
    chosen_vote = choose_vote_threshold(vote["Banking77"], vote["CLINC150 (+oos)"], vote["hard cases"])
    selection = [
        f"default pipeline (contrast guard): {_rule(choose_default_threshold)} "
        f"-> {chosen_default:.2f} (shipped default: {defaults.similarity_threshold:.2f})",
        f"canonical answers (contrast guard + answer vote, top_k {defaults.top_k}): "
        f"{_rule(choose_vote_threshold)} -> "
        + (f"{chosen_vote:.2f}" if chosen_vote is not None else "no threshold qualifies"),
        "seed: fixed threshold 0.92, no verification.",
    ]
    profiles: list[Profile] = [
        {"name": "seed: threshold 0.92", "verifier": verifier["seed"], "threshold": SEED_THRESHOLD},
        {
            "name": "default: contrast guard",
            "verifier": verifier["default"],
            "threshold": defaults.similarity_threshold,
        },
    ]
    if chosen_vote is not None:
        profiles.append(
            {
                "name": "canonical answers: guard + answer vote",
                "verifier": verifier["vote"],
                "threshold": chosen_vote,
            }
        )
    return profiles, selection


def tabulate(
    profiles: list[Profile], splits: dict[str, dict[str, Case]]
) -> tuple[dict[str, dict[str, dict[str, str]]], dict[str, dict[str, dict[str, Any]]]]:
    """Every profile at its threshold on every set: the table's cells and the rows behind them."""
    table: dict[str, dict[str, dict[str, str]]] = {}
    rows_out: dict[str, dict[str, dict[str, Any]]] = {}
    for split, cases in splits.items():
        table[split], rows_out[split] = {}, {}
        for profile in profiles:
            rows = {
                name: _at(_sweep(profile["verifier"], case, [profile["threshold"]]), profile["threshold"])
                for name, case in cases.items()
            }
            table[split][profile["name"]] = {name: _cell(row) for name, row in rows.items()}
            rows_out[split][profile["name"]] = {name: asdict(row) for name, row in rows.items()}
    return table, rows_out


def measure(data: Path, limit: int | None) -> dict[str, Any]:
    """Embed the sets, sweep the thresholds on validation, choose, and report on validation and test."""
    defaults = SemCacheSettings(redis_url="redis://unused")
    embedder = Embedder(defaults.embedding_model)
    validation, test = build_cases(data, Vectors(embedder), defaults.top_k, limit)
    verifier = verifiers(defaults)
    sweeps = {name: {case: _sweep(v, c) for case, c in validation.items()} for name, v in verifier.items()}
    profiles, selection = choose_profiles(sweeps, verifier, defaults)
    table, rows = tabulate(profiles, {"validation": validation, "test": test})
    hard_test, clinc_test = test["hard cases"], test["CLINC150 (+oos)"]
    assert isinstance(hard_test, PairCase) and isinstance(clinc_test, IntentCase)
    categories = {p["name"]: _per_category(p["verifier"], hard_test, p["threshold"]) for p in profiles}
    return {
        "model": defaults.embedding_model,
        "top_k": defaults.top_k,
        "embedding_runtime": embedder.runtime_in_use,
        "sets": {"validation": list(validation), "test": list(test)},
        "profiles": [{"name": p["name"], "threshold": p["threshold"]} for p in profiles],
        "table": table,
        "rows": rows,
        "selection": selection,
        "hard_categories": categories,
        "hard_categories_names": sorted(next(iter(categories.values()))),
        "decide_cost_us": _decide_cost_us(verifier["default"], clinc_test, defaults.similarity_threshold),
        "long_prompt": _long_prompt_check(embedder),
        "validation_sweeps": {
            name: {case: [asdict(r) for r in rows] for case, rows in per.items()}
            for name, per in sweeps.items()
        },
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog=f"python -m {MODULE}", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help=f"{QUICK_LIMIT} queries per set, nothing written"
    )
    parser.add_argument("--replot", action="store_true", help="redraw calibration.png from quality.json")
    parser.add_argument(
        "--output",
        type=Path,
        help="results file stem (default benchmarks/results/quality; calibration.png is written beside "
        "it; with --quick, written only if given)",
    )
    add_data_dir_option(parser)
    args = parser.parse_args(argv)
    stem = args.output or RESULTS_DIR / "quality"
    plot = stem.parent / "calibration.png"
    if args.replot:
        plot_calibration(json.loads(stem.with_name(f"{stem.name}.json").read_text()), plot)
        return
    data = resolve_data_dir(parser, args.data_dir)
    report = {
        "command": command_line(MODULE, argv),
        **measure(data, QUICK_LIMIT if args.quick else None),
    }
    markdown = _markdown(report)
    print(markdown)
    if args.output or not args.quick:
        write_results(stem, report, markdown)
        plot_calibration(report, plot)


if __name__ == "__main__":
    main()
