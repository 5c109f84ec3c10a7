"""Evaluate the shipped cacheability artifact, and the old phrase list, on held-out data.

    .venv/bin/python training/cacheability/evaluate.py [--text] [--artifact DIR] [--examples N] [--final]

Loads only the artifact (through the runtime module), never trains or tunes. Reports, per class, the share
of queries kept out of the cache on: the dev split (HWU64 held-out scenarios + written dev rows; it chose
the thresholds), the written test splits (v1's written.csv and v2's written_v2.csv, never used for training
or thresholds), and with ``--final`` CLINC150 test (labelled by eval_labels/clinc150_intent_classes.csv;
`other` reported apart; out-of-scope queries for information) and Banking77 test (all `general`). The same
numbers for the old phrase filter, confusion tables, the intents that miss most, error examples, and the
runtime's latency per single query. Writes results.json beside it (``--final`` only, unless ``--out``).
``--text`` evaluates the text model (``artifacts/cacheability_text/``) instead of the embedding head and
writes results_text.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import numpy as np
from common import (
    BANKING_LABELS,
    CLINC_LABELS,
    HERE,
    KEPT_OUT,
    OLD_PATTERNS,
    REPO,
    PhraseFilter,
    embed,
    load_banking77,
    load_clinc,
    load_hwu64,
    load_written_all,
    read_label_file,
)
from train import DEV_SCENARIOS, SEED

sys.path.insert(0, str(REPO))
from litellm_semcache.models.cacheability import CacheabilityModel, Prediction
from litellm_semcache.models.cacheability_text import TextCacheabilityModel


class TextModel:
    """The text model behind the embedding head's interface (it ignores the vectors)."""

    def __init__(self, model: TextCacheabilityModel) -> None:
        self.inner = model
        self.version, self.classes, self.thresholds = model.version, model.classes, model.thresholds
        self.temperature, self.class_bias = model.temperature, model.class_bias

    def predict(self, vectors: np.ndarray, texts: list[str]) -> list[Prediction]:
        return self.inner.predict(texts)

    def features(self, texts: list[str]) -> None:
        return None


ROW_CLASSES = ("general", "private", "live", "random", "other")
TARGETS = {"general": ("<=", 0.03), "private": (">=", 0.90), "live": (">=", 0.90), "random": (">=", 0.90)}
BANKING_TARGET = ("<=", 0.05)


def per_class(labels: list[str], out: np.ndarray) -> dict[str, dict[str, float]]:
    res = {}
    for c in ROW_CLASSES:
        mask = np.array([lab == c for lab in labels])
        if mask.any():
            res[c] = {"n": int(mask.sum()), "kept_out": round(float(out[mask].mean()), 4)}
    return res


def confusion(labels: list[str], predicted: list[str], classes: tuple[str, ...]) -> dict[str, dict[str, int]]:
    table: dict[str, dict[str, int]] = {}
    for lab, pred in zip(labels, predicted, strict=True):
        table.setdefault(lab, dict.fromkeys(classes, 0))[pred] += 1
    return {c: table[c] for c in ROW_CLASSES if c in table}


def latency(
    model: CacheabilityModel | TextModel, vectors: np.ndarray, texts: list[str], runs: int = 5000
) -> dict[str, float]:
    """p50/p99 of one ``predict`` call for one query (vector + text), and of its lexical features alone."""
    times, feats = [], []
    for i in range(runs):
        j = (i * 7919) % len(texts)
        v, t = vectors[j], [texts[j]]
        t0 = time.perf_counter()
        model.predict(v, t)
        t1 = time.perf_counter()
        model.features(t)
        times.append(t1 - t0)
        feats.append(time.perf_counter() - t1)
    ms, fs = np.array(times) * 1000, np.array(feats) * 1000
    return {
        "p50_ms": round(float(np.percentile(ms, 50)), 4),
        "p99_ms": round(float(np.percentile(ms, 99)), 4),
        "features_p50_ms": round(float(np.percentile(fs, 50)), 4),
        "features_p99_ms": round(float(np.percentile(fs, 99)), 4),
        "runs": runs,
    }


def evaluate_set(
    name: str,
    texts: list[str],
    labels: list[str],
    groups: list[str],
    model: CacheabilityModel | TextModel,
    phrases: PhraseFilter,
    n_examples: int,
) -> dict[str, Any]:
    vectors = embed(texts, name)
    preds = model.predict(vectors, texts)
    out = np.array([not p.cacheable for p in preds])
    old = np.array([phrases.kept_out(t) for t in texts])
    by_group: dict[str, list[int]] = defaultdict(list)
    for i, g in enumerate(groups):
        by_group[g].append(i)
    rng = np.random.default_rng(0)
    errors: dict[str, list[dict[str, Any]]] = {}
    for c in ROW_CLASSES:
        wrong = [i for i, lab in enumerate(labels) if lab == c and out[i] != (c in KEPT_OUT) and c != "other"]
        pick = rng.permutation(len(wrong))[:n_examples]
        errors[c] = [
            {"text": texts[wrong[j]], "group": groups[wrong[j]], "label": preds[wrong[j]].label,
             "probability": round(preds[wrong[j]].probability, 3)}
            for j in sorted(pick)
        ]  # fmt: skip
    return {
        "n": len(texts),
        "classifier": per_class(labels, out),
        "old_phrases": per_class(labels, old),
        "confusion": confusion(labels, [p.label for p in preds], model.classes),
        "groups": {
            g: {
                "class": labels[idx[0]],
                "n": len(idx),
                "kept_out": round(float(out[idx].mean()), 4),
                "old_kept_out": round(float(old[idx].mean()), 4),
            }
            for g, idx in sorted(by_group.items())
        },  # fmt: skip
        "errors": errors,
        "_vectors": vectors,
        "_texts": texts,
    }


def print_table(name: str, res: dict[str, Any]) -> None:
    print(f"\n## {name} (n={res['n']}): share kept out of the cache")
    print(f"{'class':8s} {'n':>6s} {'classifier':>11s} {'old phrases':>12s}  target")
    for c, v in res["classifier"].items():
        target = TARGETS.get(c)
        t = f"{target[0]} {100 * target[1]:.0f}%" if target and name.startswith("CLINC") else ""
        if name.startswith("Banking"):
            t = f"{BANKING_TARGET[0]} {100 * BANKING_TARGET[1]:.0f}%"
        old = res["old_phrases"][c]["kept_out"]
        print(f"{c:8s} {v['n']:6d} {100 * v['kept_out']:10.1f}% {100 * old:11.1f}%  {t}")
    print("confusion (rows: true class, columns: decided label)")
    classes = list(next(iter(res["confusion"].values())).keys())
    print(f"{'':8s} " + " ".join(f"{c:>8s}" for c in classes))
    for c, row in res["confusion"].items():
        print(f"{c:8s} " + " ".join(f"{row[k]:8d}" for k in classes))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--artifact", type=Path, default=None)
    parser.add_argument("--examples", type=int, default=12, help="error examples per class")
    parser.add_argument("--out", type=Path, default=None, help="results file (default results.json, --final)")
    parser.add_argument("--final", action="store_true", help="also CLINC150 and Banking77 test: run once")
    parser.add_argument("--text", action="store_true", help="the text model instead of the embedding head")
    args = parser.parse_args()
    out_path = args.out or (
        HERE / ("results_text.json" if args.text else "results.json") if args.final else None
    )
    model: CacheabilityModel | TextModel = (
        TextModel(TextCacheabilityModel.load(args.artifact))
        if args.text
        else CacheabilityModel.load(args.artifact)
    )
    phrases = PhraseFilter(OLD_PATTERNS)
    print(f"model {model.version}; thresholds {model.thresholds}")

    sets: dict[str, tuple[list[str], list[str], list[str]]] = {}
    hwu, _ = load_hwu64(dev_share=0.0, seed=SEED, dev_scenarios=DEV_SCENARIOS)
    written = load_written_all()
    dev = [e for e in hwu + written if e.split == "dev"]
    sets["dev"] = ([e.text for e in dev], [e.label for e in dev], [e.source.split(":")[0] for e in dev])
    for source, name in (("written_v2", "written test v2"), ("written", "written test v1")):
        rows = [e for e in written if e.split == "test" and e.source == source]
        sets[name] = ([e.text for e in rows], [e.label for e in rows], [e.label for e in rows])
    if args.final:
        clinc_labels = read_label_file(CLINC_LABELS)
        clinc = load_clinc("test")
        sets["CLINC150 test"] = (
            [t for t, _ in clinc],
            [clinc_labels[i] for _, i in clinc],
            [i for _, i in clinc],
        )
        oos = load_clinc("oos_test")
        sets["CLINC150 oos_test"] = ([t for t, _ in oos], ["oos"] * len(oos), ["oos"] * len(oos))
        bank_labels = read_label_file(BANKING_LABELS)
        bank = load_banking77()
        sets["Banking77 test"] = (
            [t for t, _ in bank],
            [bank_labels[c] for _, c in bank],
            [c for _, c in bank],
        )

    results: dict[str, Any] = {
        "version": model.version,
        "temperature": model.temperature,
        "class_bias": model.class_bias.tolist(),
        "thresholds": model.thresholds,
        "sets": {},
    }
    all_vectors, all_texts = [], []
    for name, (texts, labels, groups) in sets.items():
        key = name.lower().replace(" ", "-")
        res = evaluate_set(key, texts, labels, groups, model, phrases, args.examples)
        all_vectors.append(res.pop("_vectors"))
        all_texts += res.pop("_texts")
        if name == "CLINC150 oos_test":
            preds = model.predict(embed(texts, key), texts)
            out = np.array([not p.cacheable for p in preds])
            res = {"n": len(texts), "kept_out": round(float(out.mean()), 4),
                   "old_kept_out": round(float(np.mean([phrases.kept_out(t) for t in texts])), 4),
                   "labels": dict(Counter(p.label for p in preds))}  # fmt: skip
            print(f"\n## {name}: {res}")
        else:
            print_table(name, res)
        results["sets"][name] = res

    if args.final:
        report_groups(results)
    for name in ("CLINC150 test", "Banking77 test", "written test v2", "written test v1", "dev"):
        if name not in results["sets"]:
            continue
        print(f"\n## error examples, {name}")
        for c, rows in results["sets"][name]["errors"].items():
            for r in rows:
                print(f"  [{c} -> {r['label']} {r['probability']:.2f}] ({r['group']}) {r['text']}")

    results["latency_single_query"] = latency(
        model, np.vstack(all_vectors), all_texts, 500 if args.text else 5000
    )
    print(f"\nlatency of predict() on one query (vector + text): {results['latency_single_query']}")
    if out_path is not None:
        out_path.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {out_path}")


def report_groups(results: dict[str, Any]) -> None:
    clinc_groups = results["sets"]["CLINC150 test"]["groups"]
    print("\n## CLINC150 intents furthest from their class's target")
    worst = sorted(
        ((g, v) for g, v in clinc_groups.items() if v["class"] != "other"),
        key=lambda gv: gv[1]["kept_out"] if gv[1]["class"] in KEPT_OUT else 1 - gv[1]["kept_out"],
    )[:30]
    for g, v in worst:
        kept, old = 100 * v["kept_out"], 100 * v["old_kept_out"]
        print(f"  {g:28s} {v['class']:8s} kept out {kept:5.1f}%  (old {old:5.1f}%)")
    bank_groups = results["sets"]["Banking77 test"]["groups"]
    print("\n## Banking77 categories kept out most")
    for g, v in sorted(bank_groups.items(), key=lambda gv: -gv[1]["kept_out"])[:15]:
        print(f"  {g:45s} kept out {100 * v['kept_out']:5.1f}%  (old {100 * v['old_kept_out']:5.1f}%)")


if __name__ == "__main__":
    main()
