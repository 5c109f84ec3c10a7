"""Evaluate a verifier artifact in the cache pipeline: pair metrics and intent-set cache simulations.

The pipeline: candidates = the top-10 stored queries by MiniLM cosine; a cosine gate drops clear misses;
the verifier scores the top N candidates above the gate; the best-scoring one is served when its score
reaches the score threshold.

``--split val`` (tuning data only): Quora dev hold-out, Banking77 train hold-out queried against the rest
of train, CLINC150 val + oos_val against train, hard pairs ``split == dev`` (ours and
``benchmarks/data/hard_cases.csv``). Prints curves for several (gate, N), picks the settings that reach each
target, and a default that reaches them all if one exists; writes ``work/eval_val.json``.

``--split test`` (the final report, once): Quora test, Banking77 test against train, CLINC150 test +
oos_test against train, hard pairs ``split == test``, at the settings chosen on validation
(``work/eval_val.json``, or the card's); writes ``work/eval_test.json``.

Runs from the artifact alone (ONNX Runtime through ``CrossEncoderScorer``) plus the MiniLM embedder.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from common import (
    ARTIFACT,
    BENCH_HARD,
    HARD_PAIRS,
    REPO,
    WORK,
    IntentSplit,
    Pair,
    banking77,
    clinc150,
    embed,
    qqp_split,
    read_csv,
    top_k,
)
from metrics import best_f1, precision_at_recall

sys.path.insert(0, str(REPO))
from litellm_semcache.models.cross_encoder import CrossEncoderScorer

K, MAX_N = 10, 4
GATES = [0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8]
NS = [1, 2, 3, 4]
THRESHOLDS = [
    round(float(t), 4)
    for t in np.concatenate(
        [np.arange(0.05, 0.9, 0.05), np.arange(0.9, 0.99, 0.01), [0.99, 0.993, 0.995, 0.997, 0.998, 0.999]]
    )
]
Vector = np.ndarray[Any, Any]


class Scores:
    """Verifier probabilities for pairs, cached on disk per model file."""

    def __init__(self, scorer: CrossEncoderScorer, model_file: Path) -> None:
        self.scorer = scorer
        self.key = hashlib.sha256(model_file.read_bytes()).hexdigest()[:12]

    def __call__(self, pairs: list[tuple[str, str]], name: str) -> Vector:
        path = WORK / "scores" / f"{self.key}_{name}_{len(pairs)}.npy"
        if path.exists():
            cached: Vector = np.load(path)
            return cached
        started = time.monotonic()
        unique = sorted(set(pairs))
        values = self.scorer.score(unique)
        lookup = dict(zip(unique, values.tolist(), strict=True))
        out = np.array([lookup[p] for p in pairs], dtype=np.float32)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, out)
        print(f"  scored {len(unique)} pairs for {name} in {time.monotonic() - started:.0f} s", flush=True)
        return out


@dataclass
class CacheSim:
    """One intent-set simulation: queries against a filled cache, with the top-4 candidates scored."""

    name: str
    query_labels: Vector
    stored_labels: Vector
    idx: Vector
    cos: Vector
    ver: Vector

    @classmethod
    def build(cls, name: str, stored: IntentSplit, queries: IntentSplit, scores: Scores) -> CacheSim:
        idx, cos = top_k(embed(queries.texts), embed(stored.texts), K)
        pairs = [
            (queries.texts[q], stored.texts[int(idx[q, j])])
            for q in range(len(queries.texts))
            for j in range(MAX_N)
        ]
        ver = scores(pairs, name).reshape(len(queries.texts), MAX_N)
        return cls(name, np.array(queries.labels), np.array(stored.labels), idx, cos, ver)

    def best(self, gate: float, n: int, verifier: bool = True) -> tuple[Vector, Vector]:
        """Per query: the decision score (-1: nothing above the gate) and whether its candidate is right."""
        above = self.cos[:, :n] >= gate
        values = (self.ver[:, :n] if verifier else self.cos[:, :n]).copy()
        values[~above] = -1.0
        pick = np.argmax(values, axis=1)
        score = values[np.arange(len(pick)), pick]
        chosen = self.stored_labels[self.idx[np.arange(len(pick)), pick]]
        return score, (chosen == self.query_labels) & (self.query_labels != "oos")

    def at(self, gate: float, n: int, threshold: float, verifier: bool = True) -> dict[str, float]:
        score, right = self.best(gate, n, verifier)
        hit = score >= threshold
        oos = self.query_labels == "oos"
        hits = int(hit.sum())
        return {
            "hit_rate": float(hit[~oos].mean()),
            "precision": float(right[hit].sum() / hits) if hits else 1.0,
            "oos_hit_rate": float(hit[oos].mean()) if oos.any() else 0.0,
            "hits": hits,
        }


@dataclass
class PairSet:
    """Labelled pairs with cosines and verifier scores."""

    name: str
    labels: Vector
    cos: Vector
    ver: Vector

    @classmethod
    def build(cls, name: str, pairs: list[Pair], scores: Scores) -> PairSet:
        a, b = embed([p.a for p in pairs]), embed([p.b for p in pairs])
        ver = scores([(p.a, p.b) for p in pairs], name)
        return cls(name, np.array([p.same for p in pairs]), (a * b).sum(axis=1), ver)

    def gated(self, gate: float) -> Vector:
        return np.where(self.cos >= gate, self.ver, -1.0)

    def at(self, gate: float, threshold: float) -> dict[str, float]:
        match = self.gated(gate) >= threshold
        pos = self.labels == 1
        return {
            "false_match_rate": float(match[~pos].mean()),
            "paraphrases_matched": float(match[pos].mean()),
            "precision": float(match[pos].sum() / max(match.sum(), 1)),
            "recall": float(match[pos].mean()),
        }


def hard_pairs(split: str) -> list[Pair]:
    """Our hand-written hard pairs and the benchmark's hard cases of one split."""
    ours = [Pair(r["a"], r["b"], int(r["same"]), "hard") for r in read_csv(HARD_PAIRS) if r["split"] == split]
    bench = [
        Pair(r["a"], r["b"], int(r["same"]), "bench") for r in read_csv(BENCH_HARD) if r["split"] == split
    ]
    return ours + bench


def targets(
    sims: dict[str, CacheSim], pairs: dict[str, PairSet], gate: float, n: int, t: float
) -> dict[str, Any]:
    """Every target's metric at one setting: ``met`` (both sides) and ``safe`` (the precision side)."""
    b77, clinc = sims["banking77"].at(gate, n, t), sims["clinc150"].at(gate, n, t)
    qqp_p, _ = precision_at_recall(pairs["qqp"].labels, pairs["qqp"].gated(gate), 0.60)
    qqp = pairs["qqp"].at(gate, t)
    out: dict[str, Any] = {
        "banking77": b77
        | {"safe": b77["precision"] >= 0.98, "met": b77["precision"] >= 0.98 and b77["hit_rate"] >= 0.75},
        "clinc150": clinc
        | {
            "safe": clinc["precision"] >= 0.99 and clinc["oos_hit_rate"] <= 0.005,
            "met": clinc["precision"] >= 0.99
            and clinc["hit_rate"] >= 0.40
            and clinc["oos_hit_rate"] <= 0.005,
        },
        "qqp": qqp
        | {
            "precision_at_recall_60": qqp_p,
            "safe": qqp["precision"] >= 0.88,
            "met": qqp["precision"] >= 0.88 and qqp["recall"] >= 0.60,
        },
    }
    for k in ("hard_ours", "hard_bench"):
        v = pairs[k].at(gate, t)
        out[k] = v | {
            "safe": v["false_match_rate"] <= 0.02,
            "met": v["false_match_rate"] <= 0.02 and v["paraphrases_matched"] >= 0.65,
        }
    return out


def best_pairs_for(ps: PairSet, key: str, bound: float, gain: str) -> dict[str, Any]:
    """The (gate, threshold) with the highest ``gain`` while ``key`` stays within ``bound``."""
    best: dict[str, Any] = {gain: 0.0}
    for gate in GATES:
        for t in THRESHOLDS:
            r = ps.at(gate, t)
            ok = r[key] >= bound if key == "precision" else r[key] <= bound
            if ok and r[gain] > best[gain]:
                best = r | {"gate": gate, "threshold": t}
    return best


def best_for(sim: CacheSim, precision: float, max_oos: float = 1.0) -> dict[str, Any]:
    """The (gate, N, threshold) with the highest hit rate at this precision (and out-of-scope cap)."""
    best: dict[str, Any] = {"hit_rate": 0.0}
    for gate in GATES:
        for n in NS:
            for t in THRESHOLDS:
                r = sim.at(gate, n, t)
                if (
                    r["precision"] >= precision
                    and r["oos_hit_rate"] <= max_oos
                    and r["hit_rate"] > best["hit_rate"]
                ):
                    best = r | {"gate": gate, "n": n, "threshold": t}
    return best


def print_curves(
    sims: dict[str, CacheSim], pairs: dict[str, PairSet], settings: list[tuple[float, int]]
) -> None:
    """Hit rate / precision curves over the score threshold for a few (gate, N)."""
    for name, sim in sims.items():
        print(f"\n{name}: hit rate / precision (/ out-of-scope hit rate) by score threshold")
        print(
            "  gate  N  | cosine only at gate "
            + " ".join(f"{t:>12}" for t in (0.5, 0.8, 0.9, 0.95, 0.98, 0.99))
        )
        for gate, n in settings:
            c = sim.at(gate, 1, gate, verifier=False)
            row = f"  {gate:.2f}  {n}  | {c['hit_rate']:.3f}/{c['precision']:.3f}           "
            for t in (0.5, 0.8, 0.9, 0.95, 0.98, 0.99):
                r = sim.at(gate, n, t)
                cell = f"{r['hit_rate']:.3f}/{r['precision']:.3f}" + (
                    f"/{r['oos_hit_rate']:.3f}" if name == "clinc150" else ""
                )
                row += f" {cell:>12}"
            print(row)
    for name, ps in pairs.items():
        print(
            f"\n{name}: n={len(ps.labels)}  cosine only: "
            f"P@R60={precision_at_recall(ps.labels, ps.cos, 0.6)[0]:.3f} "
            f"bestF1={best_f1(ps.labels, ps.cos)[0]:.3f}"
        )
        for gate in sorted({g for g, _ in settings}):
            p60, t60 = precision_at_recall(ps.labels, ps.gated(gate), 0.6)
            f1, tf1 = best_f1(ps.labels, ps.gated(gate))
            cells = " ".join(
                f"t={t}: FM {ps.at(gate, t)['false_match_rate']:.3f} "
                f"PM {ps.at(gate, t)['paraphrases_matched']:.3f}"
                for t in (0.5, 0.8, 0.9, 0.95)
            )
            print(
                f"  gate {gate:.2f}: P@R60={p60:.3f} (thr {t60:.3f}) "
                f"bestF1={f1:.3f} (thr {tf1:.3f}) | {cells}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--split", choices=["val", "test"], default="val")
    parser.add_argument(
        "--artifact", type=Path, default=ARTIFACT, help="folder with card.json, model, tokenizer"
    )
    parser.add_argument(
        "--model-file", default=None, help="another ONNX file in the artifact folder (e.g. fp32)"
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="results JSON (default work/eval_<split>.json)"
    )
    parser.add_argument("--settings", type=Path, default=WORK / "eval_val.json", help="test: chosen settings")
    parser.add_argument(
        "--max-n", type=int, default=1, help="largest N for the default (latency: one pair ~1.6 ms in int8)"
    )
    parser.add_argument(
        "--limit", type=int, default=0, help="debug: keep only the first N queries/pairs of each set"
    )
    args = parser.parse_args()

    def cut(items: list[Any]) -> list[Any]:
        return items[: args.limit] if args.limit else items

    scorer = CrossEncoderScorer.load(args.artifact)
    model_file = args.artifact / (args.model_file or str(scorer.card.get("model_file", "model.onnx")))
    if args.model_file:
        from litellm_semcache.models.onnx import cpu_session

        scorer.session = cpu_session(model_file, 2)
    scores = Scores(scorer, model_file)
    split = args.split
    started = time.monotonic()
    fill, hold, full, b77_test = banking77()
    qqp_train, qqp_val, qqp_test = qqp_split()
    del qqp_train
    clinc_train = clinc150("train")
    if split == "val":
        b77 = CacheSim.build("b77_val", fill, IntentSplit(cut(hold.texts), cut(hold.labels)), scores)
        cq = [clinc150("val"), clinc150("oos_val")]
    else:
        b77 = CacheSim.build("b77_test", full, IntentSplit(cut(b77_test.texts), cut(b77_test.labels)), scores)
        cq = [clinc150("test"), clinc150("oos_test")]
    clinc_queries = IntentSplit(cut(cq[0].texts) + cut(cq[1].texts), cut(cq[0].labels) + cut(cq[1].labels))
    clinc = CacheSim.build(f"clinc_{split}", clinc_train, clinc_queries, scores)
    sims = {"banking77": b77, "clinc150": clinc}
    hard = hard_pairs("dev" if split == "val" else "test")
    pairs = {
        "qqp": PairSet.build(f"qqp_{split}", cut(qqp_val if split == "val" else qqp_test), scores),
        "hard_ours": PairSet.build(f"hardours_{split}", [p for p in hard if p.source == "hard"], scores),
        "hard_bench": PairSet.build(f"hardbench_{split}", [p for p in hard if p.source == "bench"], scores),
    }
    print(f"data and scores ready in {time.monotonic() - started:.0f} s", flush=True)
    print_curves(sims, pairs, [(0.5, 1), (0.6, 1), (0.6, 2), (0.6, 4), (0.7, 1), (0.7, 2)])

    result: dict[str, Any] = {"split": split, "model_file": model_file.name, "version": scorer.version}
    if split == "val":
        result["per_target"] = {
            "banking77_p98": best_for(b77, 0.98),
            "banking77_p99": best_for(b77, 0.99),
            "clinc150_p99_oos0.5": best_for(clinc, 0.99, 0.005),
            "clinc150_p99": best_for(clinc, 0.99),
            "qqp_p88": best_pairs_for(pairs["qqp"], "precision", 0.88, "recall"),
            "hard_ours_fm2": best_pairs_for(
                pairs["hard_ours"], "false_match_rate", 0.02, "paraphrases_matched"
            ),
            "hard_bench_fm2": best_pairs_for(
                pairs["hard_bench"], "false_match_rate", 0.02, "paraphrases_matched"
            ),
        }
        for gate in GATES:
            for name, ps in pairs.items():
                result.setdefault("pairs", {}).setdefault(name, {})[str(gate)] = {
                    "precision_at_recall_60": precision_at_recall(ps.labels, ps.gated(gate), 0.6)[0],
                    "best_f1": best_f1(ps.labels, ps.gated(gate))[0],
                }
        grid = []
        for gate in GATES:
            for n in NS:
                for t in THRESHOLDS:
                    r = targets(sims, pairs, gate, n, t)
                    met = sum(v["met"] for v in r.values())
                    safe = sum(v["safe"] for v in r.values())
                    grid.append(
                        {"gate": gate, "n": n, "threshold": t, "met": met, "safe": safe, "targets": r}
                    )

        # default: most targets met, then the fewest verifier calls, then the most hits
        # default: most targets met; then most precision sides (false-hit limits) kept; then the most hits
        # (Banking77 + CLINC150 hit rates, Quora recall, paraphrases matched); then the fewest verifier calls
        def key(g: dict[str, Any]) -> tuple[int, int, float, int]:
            r = g["targets"]
            gains = r["banking77"]["hit_rate"] + r["clinc150"]["hit_rate"] + r["qqp"]["recall"]
            gains += r["hard_ours"]["paraphrases_matched"] + r["hard_bench"]["paraphrases_matched"]
            return g["met"], g["safe"], round(gains, 3), -g["n"]

        ranked = sorted([g for g in grid if g["n"] <= args.max_n], key=key, reverse=True)
        result["default"] = ranked[0]
        result["best_per_n"] = {
            str(n): sorted([g for g in grid if g["n"] == n], key=key, reverse=True)[0] for n in NS
        }
        print("\nper-target best settings on validation:")
        for name, r in result["per_target"].items():
            print(f"  {name}: {r}")
        for n, g in result["best_per_n"].items():
            print(
                f"\nbest with N={n}: gate {g['gate']} threshold {g['threshold']}, {g['met']}/5 targets met, "
                f"{g['safe']}/5 precision sides kept"
            )
            for k, v in g["targets"].items():
                print(
                    f"  {k}: "
                    + ", ".join(f"{m}={x:.4f}" if isinstance(x, float) else f"{m}={x}" for m, x in v.items())
                )
        chosen = result["default"]
    else:
        settings = json.loads(args.settings.read_text()) if args.settings.exists() else None
        chosen = settings["default"] if settings else scorer.card["recommended"]["default"]
        result["per_target"] = {}
        if settings:
            for name, r in settings["per_target"].items():
                if "gate" not in r:
                    continue
                if "n" in r:
                    sim = b77 if name.startswith("banking") else clinc
                    result["per_target"][name] = r | {"test": sim.at(r["gate"], r["n"], r["threshold"])}
                else:
                    ps = pairs["qqp" if name.startswith("qqp") else name.rsplit("_", 1)[0]]
                    result["per_target"][name] = r | {"test": ps.at(r["gate"], r["threshold"])}
        for name, ps in pairs.items():
            result.setdefault("pairs", {})[name] = {
                str(g): {
                    "precision_at_recall_60": precision_at_recall(ps.labels, ps.gated(g), 0.6)[0],
                    "best_f1": best_f1(ps.labels, ps.gated(g))[0],
                }
                for g in GATES
            }
        if settings:
            result["best_per_n"] = {
                n: {k: g[k] for k in ("gate", "n", "threshold")}
                | {"targets": targets(sims, pairs, g["gate"], g["n"], g["threshold"])}
                for n, g in settings["best_per_n"].items()
            }
            for n, g in result["best_per_n"].items():
                print(
                    f"\nN={n} at gate {g['gate']} threshold {g['threshold']} (chosen on validation), on test:"
                )
                for k, v in g["targets"].items():
                    print(
                        f"  {k}: "
                        + ", ".join(
                            f"{m}={x:.4f}" if isinstance(x, float) else f"{m}={x}" for m, x in v.items()
                        )
                    )
        result["default"] = {k: chosen[k] for k in ("gate", "n", "threshold")}
        result["default"]["targets"] = targets(sims, pairs, chosen["gate"], chosen["n"], chosen["threshold"])
        print("\nper-target settings from validation, on test:")
        for name, r in result["per_target"].items():
            print(f"  {name}: gate {r['gate']} N {r.get('n', '-')} thr {r['threshold']} -> {r['test']}")
    g = result["default"]
    print(f"\nDEFAULT gate {g['gate']} N {g['n']} threshold {g['threshold']} on {split}:")
    for k, v in g["targets"].items():
        print(
            f"  {k}: "
            + ", ".join(f"{m}={x:.4f}" if isinstance(x, float) else f"{m}={x}" for m, x in v.items())
        )
    out = args.out or WORK / (f"eval_{split}.json" if not args.limit else f"eval_{split}_limit.json")
    out.write_text(json.dumps(result, indent=1, default=float))
    print(f"wrote {out} ({time.monotonic() - started:.0f} s)")


if __name__ == "__main__":
    main()
