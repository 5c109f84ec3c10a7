"""The shipped pipeline on validation data only: what ``benchmarks/quality.py`` will choose and measure.

Mirrors :func:`benchmarks.quality.measure` on its validation cases (Banking77 train hold-out against the
rest of train, CLINC150 val + oos_val against train, the Quora dev hold-out, ``hard_cases.csv``
``split == dev``) with the package's own code: the rule stages, the calibration profile built from the
intent sets (precision >= target on both), the contrast checks it keeps, and every set at the profile's
gates for the target precision (0.98 by default). Test splits are never read. The cases (embeddings and
nearest neighbours) are cached in ``work/pipeline_val_cases.pkl``, the scores per model file under
``work/scores``.

    python pipeline_eval.py --artifact work/art_v2     # any artifact folder (card.json, model, tokenizer)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import pickle
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
from common import ARTIFACT, DATA, REPO, WORK

sys.path.insert(0, str(REPO))
import benchmarks.quality as bq
from litellm_semcache.evaluation import ScoredQueries, candidate_matrix, load_intent_split, sweep
from litellm_semcache.evaluation.data import holdout_pairs, holdout_split
from litellm_semcache.models.cross_encoder import CrossEncoderScorer
from litellm_semcache.settings import SemCacheSettings
from litellm_semcache.verification import Verifier
from litellm_semcache.verification.learned import LearnedVerifier


def validation_cases(data: Path) -> dict[str, bq.Case]:
    """The benchmark's validation cases (cached; the ``correct`` callables are rebuilt)."""
    path = WORK / "pipeline_val_cases.pkl"
    if path.exists():
        stored = pickle.loads(path.read_bytes())
    else:
        from litellm_semcache.embedding import Embedder

        defaults = SemCacheSettings(redis_url="redis://unused")
        vectors = bq.Vectors(Embedder(defaults.embedding_model))
        bank = load_intent_split(str(data / "banking77" / "train.csv"))
        fill, held = holdout_split(bank)
        clinc = str(data / "clinc150" / "data_full.json")
        cases = {
            "Banking77": bq.intent_case("Banking77", fill, held, vectors, defaults.top_k),
            "CLINC150 (+oos)": bq.intent_case(
                "CLINC150",
                load_intent_split(f"{clinc}:train"),
                load_intent_split(f"{clinc}:val+oos_val"),
                vectors,
                defaults.top_k,
            ),
            "Quora pairs": bq.pair_case("Quora", holdout_pairs(bq._qqp(data, "dev"))[1], vectors),
            "hard cases": bq.pair_case("hard", bq._hard("dev")[0], vectors, bq._hard("dev")[1]),
        }
        stored = {}
        for name, case in cases.items():
            truth = [[case.correct(q, c) for c in found] for q, found in enumerate(case.candidates)]
            stored[name] = (case, truth)
        for case, _ in stored.values():
            case.correct = None  # type: ignore[assignment]
        path.write_bytes(pickle.dumps(stored))
    out = {}
    for name, (case, truth) in stored.items():
        index = {
            (q, c.id): t
            for q, found in enumerate(case.candidates)
            for c, t in zip(found, truth[q], strict=True)
        }
        case.correct = lambda q, c, index=index: index[(q, c.id)]
        out[name] = case
    return out


def raw_scores(cases: dict[str, bq.Case], learned: LearnedVerifier, key: str) -> dict[str, ScoredQueries]:
    """The verifier's scores of each case's candidates (cached per model file)."""
    out = {}
    for name, case in cases.items():
        path = WORK / "scores" / f"pipe_{key}_{name.split()[0]}.npy"
        data = candidate_matrix(case.candidates, case.correct, case.answerable, max_n=bq.MAX_N)
        if path.exists():
            out[name] = ScoredQueries(
                data.similarity, data.rules, np.load(path), data.correct, data.answerable
            )
            continue
        started = time.monotonic()
        out[name] = bq.verifier_scores(case, learned)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, out[name].scores)
        print(f"  scored {name} in {time.monotonic() - started:.0f} s", flush=True)
    return out


def measure(artifact: Path, targets: list[float]) -> dict[str, Any]:
    data = DATA
    scorer = CrossEncoderScorer.load(artifact)
    learned = LearnedVerifier(scorer)
    model = artifact / str(scorer.card.get("model_file", "model.onnx"))
    key = hashlib.sha256(model.read_bytes()).hexdigest()[:12]
    cases = validation_cases(data)
    raw = raw_scores(cases, learned, key)
    defaults = SemCacheSettings(redis_url="redis://unused")
    first, _ = bq.calibrate_profile(cases, raw, Verifier.from_settings(defaults), learned)
    checks, notes = bq.choose_checks(cases, raw, defaults, first)
    defaults = defaults.with_overrides(contrast_checks=checks)
    rules = Verifier.from_settings(defaults)
    profile, sweeps = bq.calibrate_profile(cases, raw, rules, learned)
    result: dict[str, Any] = {"artifact": str(artifact), "contrast_checks": checks, "rows": {}}
    for target in targets:
        gates = profile.gates(target)
        rows = {n: bq.at(bq.scored(c, rules, raw[n]), gates) for n, c in cases.items()}
        result["rows"][str(target)] = {
            "gates": gates.model_dump(),
            "sets": {n: asdict(r) for n, r in rows.items()},
        }
        print(
            f"target {target}: gate {gates.gate} top_n {gates.top_n} score >= {gates.score_threshold}"
            + ("" if profile.reaches(target) else "  (NOT reached)")
        )
        for n, r in rows.items():
            if n in ("Quora pairs", "hard cases"):
                print(
                    f"   {n:16s} recall {r.recall:.3f} precision {r.precision:.4f} "
                    f"false matches {r.false_match_rate:.3f}"
                )
            else:
                print(
                    f"   {n:16s} hit {r.hit_rate:.3f} precision {r.precision:.4f} "
                    f"oos {r.out_of_scope_hit_rate:.3f}"
                )
    # what N the verifier could get away with: the best row per top_n at the default target
    target = defaults.target_precision
    for n_max in (1, 2, 4):
        sets = {n: [r for r in sweeps[n] if r.top_n <= n_max] for n in bq.PROFILE_SETS}
        from litellm_semcache.evaluation import build_profile

        try:
            p = build_profile(sets, verifier="x", embedding_model="x", source="x", targets=(target,))
            g = p.rows[0]
            print(f"  top_n <= {n_max}: gate {g.gate} n {g.top_n} thr {g.score_threshold} {g.measured}")
            result.setdefault("by_max_n", {})[str(n_max)] = g.model_dump()
        except ValueError:
            print(f"  top_n <= {n_max}: target not reached")
    # Quora: the best precision at recall >= 60% along the score at the default gate / top_n
    gates = profile.gates(target)
    curve = sweep(bq.scored(cases["Quora pairs"], rules, raw["Quora pairs"]), [gates.gate], [1], bq.SCORES)
    ok = [r for r in curve if r.recall >= 0.6]
    best = max(ok, key=lambda r: r.precision) if ok else None
    if best:
        print(
            f"  Quora best precision at recall >= 0.6 along the score: {best.precision:.4f} "
            f"(thr {best.score_threshold})"
        )
    hard = cases["hard cases"]
    data_h = bq.scored(hard, rules, raw["hard cases"])
    cats = bq.hard_categories(hard, raw["hard cases"], defaults, gates)
    new = [k for k in cats if k.startswith("new default")][0]
    print("  hard dev per category:", cats[new])
    result["hard_categories"] = cats[new]
    del data_h
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--artifact", type=Path, default=ARTIFACT)
    parser.add_argument("--targets", default="0.97,0.98,0.985,0.99")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    result = measure(args.artifact, [float(t) for t in args.targets.split(",")])
    out = args.out or WORK / f"pipeline_val_{args.artifact.name}.json"
    out.write_text(json.dumps(result, indent=1, default=float))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
