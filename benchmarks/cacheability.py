"""What the cacheability filter keeps out, per class: the shipped default beside the old phrase filters.

Sets (labels written down in the repository, never tuned on the evaluation sets):

* dev and test: the hand-written questions of ``training/cacheability/data/written*.csv`` (class per row;
  the test rows were written before any model output was seen);
* CLINC150 test: real assistant queries, labelled per intent in
  ``training/cacheability/eval_labels/clinc150_intent_classes.csv``; ``other`` (greetings, yes/no,
  "repeat") is reported apart;
* Banking77 test: support questions, all ``general`` (``eval_labels/banking77_intent_classes.csv``).

Filters: the shipped default (phrases + the classifier, exactly as the proxy decides: ``classify``), the
phrase list the previous release shipped, and the seed's seven phrases. On the dev rows it also measures,
for each never-cache phrase of the previous release, what it adds to the classifier: the default keeps a
phrase only where it keeps out more questions that must stay out than general ones. On the evaluation sets
it reports, for the report only (nothing here is chosen on them), the intents the shipped default gets most
wrong and the trade-off the classifier offers: its decisions with the ``general`` logit shifted as an
operator's calibration would shift it.

    python -m benchmarks.cacheability           # writes benchmarks/results/cacheability.{json,md}
    python -m benchmarks.cacheability --quick   # 300 rows per set, nothing written
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from benchmarks.common import (
    RESULTS_DIR,
    add_data_dir_option,
    command_line,
    log,
    resolve_data_dir,
    write_results,
)
from harness.measure import percentiles
from harness.paths import REPO_ROOT
from litellm_semcache.admission import PatternFilter
from litellm_semcache.admission.calibration import decide_shifted
from litellm_semcache.admission.classifier import ClassifierStage
from litellm_semcache.cli.classify import classify
from litellm_semcache.embedding import Embedder
from litellm_semcache.models.cacheability_text import TextCacheabilityModel
from litellm_semcache.settings import SemCacheSettings

MODULE = "benchmarks.cacheability"
LABELS = REPO_ROOT / "training" / "cacheability"
CLASSES = ("general", "private", "live", "random", "other")
QUICK_LIMIT = 300
#: Shifts of the ``general`` logit shown in the trade-off table (the calibration's own mechanism and range).
TRADE_OFF_SHIFTS = (-0.5, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 5.25, 5.5)
#: Intents listed per evaluation set, worst first.
WORST_INTENTS = 12
#: The seed's never-cache phrases.
SEED_PHRASES = ("my account", "my order", "my balance", "today", "right now", "current", "this week")
#: The phrase list the previous release shipped (the seed's seven and 25 more).
PREVIOUS_PHRASES = (
    *("my account", "my order", "my orders", "my balance", "my bill", "my invoice", "my payment"),
    *("my payments", "my transaction", "my transactions", "my subscription", "my booking"),
    *("my reservation", "my delivery", "my package", "my statement", "today", "tonight", "tomorrow"),
    *("yesterday", "right now", "current", "currently", "this week", "this month", "this year"),
    *("at the moment", "as of now", "latest", "what time is it"),
)

Rows = list[tuple[str, str]]


def _read(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def written(split: str) -> Rows:
    rows = []
    for name in ("written.csv", "written_v2.csv"):
        path = LABELS / "data" / name
        if path.exists():
            rows += [(r["text"], r["class"]) for r in _read(path) if r["split"] == split]
    return rows


def clinc_test(data: Path) -> list[tuple[str, str, str]]:
    """(text, class, intent) of every CLINC150 test query."""
    labels = {r["intent"]: r["class"] for r in _read(LABELS / "eval_labels" / "clinc150_intent_classes.csv")}
    document = json.loads((data / "clinc150" / "data_full.json").read_text(encoding="utf-8"))
    return [(text, labels[intent], intent) for text, intent in document["test"]]


def banking_test(data: Path) -> list[tuple[str, str, str]]:
    """(text, class, intent) of every Banking77 test query."""
    labels = {r["intent"]: r["class"] for r in _read(LABELS / "eval_labels" / "banking77_intent_classes.csv")}
    return [(r["text"], labels[r["category"]], r["category"]) for r in _read(data / "banking77" / "test.csv")]


def _limit(rows: list[Any], n: int | None) -> list[Any]:
    return rows if n is None or n >= len(rows) else random.Random(1).sample(rows, n)


def wrong(label: str, cached: bool) -> bool:
    """A general question kept out, or a private, live or random one let in (``other`` is never wrong)."""
    return (label == "general" and not cached) or (label in ("private", "live", "random") and cached)


def worst_intents(
    rows: list[tuple[str, str, str]], cached: Sequence[bool], n: int = WORST_INTENTS
) -> list[dict[str, Any]]:
    """The intents with the most wrong decisions: general ones kept out, the others let in."""
    errors: Counter[str] = Counter()
    totals: Counter[str] = Counter()
    label_of = {}
    for (_, label, intent), c in zip(rows, cached, strict=True):
        totals[intent] += 1
        label_of[intent] = label
        errors[intent] += wrong(label, c)
    return [
        {"intent": i, "class": label_of[i], "wrong": k, "n": totals[i]} for i, k in errors.most_common(n) if k
    ]


def trade_off(model: TextCacheabilityModel, rows: list[tuple[str, str, str]]) -> list[dict[str, Any]]:
    """The classifier alone, its ``general`` logit shifted: the share of each class kept out per shift."""
    texts = [t for t, _, _ in rows]
    # In batches of 64, as training/cacheability/evaluate.py reads them (int8 activations scale per batch).
    probabilities = np.concatenate([model.probabilities(texts[i : i + 64]) for i in range(0, len(texts), 64)])
    table = []
    for shift in TRADE_OFF_SHIFTS:
        decisions = decide_shifted(model, probabilities, shift or None)
        table.append(
            {"shift": shift, **kept_out([(t, c) for t, c, _ in rows], [d.cacheable for d in decisions])}
        )
    return table


def kept_out(rows: Rows, cached: Sequence[bool]) -> dict[str, dict[str, Any]]:
    """Per class: how many, and the share kept out."""
    totals: Counter[str] = Counter(label for _, label in rows)
    out: Counter[str] = Counter(label for (_, label), c in zip(rows, cached, strict=True) if not c)
    return {c: {"n": totals[c], "kept_out": round(out[c] / totals[c], 4)} for c in CLASSES if totals[c]}


def filters(embedder: Embedder) -> dict[str, Any]:
    """name -> a function from texts to cached/kept-out decisions."""
    default = SemCacheSettings(redis_url="redis://unused")

    def shipped(texts: list[str]) -> list[bool]:
        return [v.cacheable for v in classify(texts, default, embedder)]

    embedding_head = default.model_copy(update={"cacheability_model": "embedding"})

    def previous_model(texts: list[str]) -> list[bool]:
        return [v.cacheable for v in classify(texts, embedding_head, embedder)]

    def phrases(patterns: Sequence[str]) -> Any:
        stage = PatternFilter(tuple(patterns))
        return lambda texts: [stage.match([t]) is None for t in texts]

    return {
        "shipped default (classifier + phrases)": shipped,
        "previous release: embedding head + phrases": previous_model,
        "previous release: phrase list": phrases(PREVIOUS_PHRASES),
        "seed: seven phrases": phrases(SEED_PHRASES),
    }


def phrase_value(rows: Rows, embedder: Embedder) -> list[dict[str, Any]]:
    """For each previous phrase: the dev questions the classifier alone lets in that the phrase keeps out,
    split into those that must stay out and general ones."""
    alone = SemCacheSettings(
        redis_url="redis://unused", never_cache_patterns=[], extra_never_cache_patterns=[]
    )
    let_in = [
        (t, c)
        for (t, c), v in zip(rows, classify([t for t, _ in rows], alone, embedder), strict=True)
        if v.cacheable
    ]
    report = []
    for phrase in PREVIOUS_PHRASES:
        stage = PatternFilter((phrase,))
        caught = [c for t, c in let_in if stage.match([t]) is not None]
        good = sum(c in ("private", "live", "random") for c in caught)
        bad = sum(c == "general" for c in caught)
        report.append({"phrase": phrase, "must_stay_out": good, "general": bad, "keep": good > bad})
    return report


def classifier_cost(texts: Sequence[str], embedder: Embedder) -> dict[str, dict[str, Any]]:
    """Milliseconds one lone question costs each classifier (one core, quiet machine), interleaved.

    The embedding head's cost excludes the embedding: the lookup computes it anyway.
    """
    base = SemCacheSettings(redis_url="redis://unused")
    stages = {
        name: ClassifierStage.from_settings(base.model_copy(update={"cacheability_model": name}))
        for name in ("text", "embedding")
    }
    vectors = {t: e.vector for t, e in zip(texts, embedder.encode_batch(list(texts)), strict=True)}
    laps: dict[str, list[float]] = {name: [] for name in stages}
    for text in texts:
        for name, stage in stages.items():
            assert stage is not None
            vector = vectors[text]
            start = time.perf_counter()
            stage.decide_many([text], None if vector is None else vector.reshape(1, -1))
            laps[name].append((time.perf_counter() - start) * 1000.0)
    return {name: percentiles(values[20:]) for name, values in laps.items()}  # the first 20 warm up


def measure(data: Path, limit: int | None) -> dict[str, Any]:
    embedder = Embedder(SemCacheSettings().embedding_model)
    evaluation = {
        "CLINC150 test": _limit(clinc_test(data), limit),
        "Banking77 test": _limit(banking_test(data), limit),
    }
    sets: dict[str, Rows] = {
        "dev (written)": _limit(written("dev"), limit),
        "test (written)": _limit(written("test"), limit),
        **{name: [(t, c) for t, c, _ in rows] for name, rows in evaluation.items()},
    }
    worst: dict[str, list[dict[str, Any]]] = {}
    results: dict[str, dict[str, Any]] = {}
    errors: dict[str, list[str]] = {}
    for name, decide in filters(embedder).items():
        log(f"filter: {name}")
        results[name] = {}
        for set_name, rows in sets.items():
            cached = decide([t for t, _ in rows])
            results[name][set_name] = kept_out(rows, cached)
            if name.startswith("shipped") and set_name.endswith("test"):
                errors[set_name] = [
                    f"{label}: {text}"
                    for (text, label), c in zip(rows, cached, strict=True)
                    if wrong(label, c)
                ][:12]
            if name.startswith("shipped") and set_name in evaluation:
                worst[set_name] = worst_intents(evaluation[set_name], cached)
    sample = [t for t, _ in _limit(sets["CLINC150 test"], 400)]
    stage = ClassifierStage.from_settings(SemCacheSettings(redis_url="redis://unused"))
    assert stage is not None and isinstance(stage.model, TextCacheabilityModel)
    shipped_model = stage.model  # loaded once for both evaluation sets
    return {
        "classifier_ms": classifier_cost(sample, embedder),
        "sets": {k: len(v) for k, v in sets.items()},
        "results": results,
        "errors": errors,
        "worst_intents": worst,
        "trade_off": {name: trade_off(shipped_model, rows) for name, rows in evaluation.items()},
        "phrases": phrase_value(sets["dev (written)"], embedder),
    }


def markdown(report: dict[str, Any]) -> str:
    lines = [f"Command: `{report['command']}`", "", "Share kept out per class (n in parentheses).", ""]
    lines += ["### Cost of one lone question (ms; the embedding head's excludes the embedding)", ""]
    lines += ["| classifier | p50 | p90 | p99 |", "|---|---:|---:|---:|"]
    for name, cost in report["classifier_ms"].items():
        lines.append(f"| {name} | {cost['p50']} | {cost['p90']} | {cost['p99']} |")
    lines.append("")
    for set_name, size in report["sets"].items():
        lines += [
            f"### {set_name} ({size} questions)",
            "",
            "| filter | " + " | ".join(CLASSES) + " |",
            "|---|" + "---:|" * len(CLASSES),
        ]
        for name, per_set in report["results"].items():
            cells = [
                f"{per_set[set_name][c]['kept_out']:.1%} ({per_set[set_name][c]['n']})"
                if c in per_set[set_name]
                else "-"
                for c in CLASSES
            ]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        lines.append("")
    lines += [
        "### What each previous never-cache phrase adds to the classifier (dev)",
        "",
        "| phrase | keeps out (must stay out) | keeps out (general) | kept in the default |",
        "|---|---:|---:|---|",
    ]
    for row in report["phrases"]:
        kept = "yes" if row["keep"] else "no"
        lines.append(f"| {row['phrase']} | {row['must_stay_out']} | {row['general']} | {kept} |")
    lines += ["", "### The shipped default's errors (first 12 per test set)", ""]
    for set_name, errors in report["errors"].items():
        lines += [f"- {set_name}: " + ("; ".join(errors) if errors else "none")]
    lines += [
        "",
        "### The intents the shipped default gets most wrong",
        "",
        "A general intent counts its questions kept out; a private, live or random one its questions let in.",
        "",
    ]
    for set_name, rows in report["worst_intents"].items():
        cells = [f"`{r['intent']}` ({r['class']}) {r['wrong']}/{r['n']}" for r in rows]
        lines += [f"- {set_name}: " + (", ".join(cells) if cells else "none")]
    lines += [
        "",
        "### The classifier's trade-off (report only: nothing is chosen on these sets)",
        "",
        "The text classifier alone, its `general` logit shifted as `calibrate --cacheability "
        "--write-calibration` would shift it (0: as shipped; positive caches more).",
    ]
    for set_name, table in report["trade_off"].items():
        present = [c for c in CLASSES if any(c in row for row in table)]
        lines += [
            "",
            f"{set_name}:",
            "",
            "| shift | " + " | ".join(present) + " |",
            "|---:|" + "---:|" * len(present),
        ]
        for row in table:
            cells = [f"{row[c]['kept_out']:.1%}" if c in row else "-" for c in present]
            lines.append(f"| {row['shift']:+.2f} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog=f"python -m {MODULE}", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help=f"{QUICK_LIMIT} questions per set, nothing written"
    )
    parser.add_argument(
        "--output", type=Path, help="results file stem (default benchmarks/results/cacheability)"
    )
    add_data_dir_option(parser)
    args = parser.parse_args(argv)
    data = resolve_data_dir(parser, args.data_dir)
    report = {"command": command_line(MODULE, argv), **measure(data, QUICK_LIMIT if args.quick else None)}
    text = markdown(report)
    print(text)
    if args.output or not args.quick:
        write_results(args.output or RESULTS_DIR / "cacheability", report, text)


if __name__ == "__main__":
    main()
