"""How far apart two verifiers' validation numbers really are: bootstrap intervals of hits and precision.

Resamples the validation queries of Banking77 and CLINC150 (the sets the stage rules compare) at one
setting of the gates, with the rule stages at their defaults, for each artifact given; scores come from
``pipeline_eval.py``'s cache (run it first for a new artifact). Test splits are never read.

    python bootstrap_val.py work/art_s4:0.95 work/art_soup_s4_b:0.925     # artifact:score threshold
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import numpy as np
import pipeline_eval as pe
from common import DATA, REPO

sys.path.insert(0, str(REPO))
import benchmarks.quality as bq
from litellm_semcache.evaluation.gated import _decide
from litellm_semcache.models.cross_encoder import CrossEncoderScorer
from litellm_semcache.settings import SemCacheSettings
from litellm_semcache.verification import Verifier
from litellm_semcache.verification.learned import LearnedVerifier


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("artifacts", nargs="+", help="artifact folder:score threshold")
    parser.add_argument("--gate", type=float, default=0.5)
    parser.add_argument("--top-n", type=int, default=4)
    parser.add_argument("--draws", type=int, default=2000)
    args = parser.parse_args()
    cases = pe.validation_cases(DATA)
    rules = Verifier.from_settings(SemCacheSettings(redis_url="redis://unused"))
    rng = np.random.default_rng(0)
    for spec in args.artifacts:
        folder, threshold = spec.rsplit(":", 1)
        art, thr = Path(folder), float(threshold)
        learned = LearnedVerifier(CrossEncoderScorer.load(art))
        key = hashlib.sha256((art / "model.onnx").read_bytes()).hexdigest()[:12]
        raw = pe.raw_scores(cases, learned, key)
        print(f"{art.name} (gate {args.gate}, top {args.top_n}, score >= {thr})")
        for name in ("Banking77", "CLINC150 (+oos)"):
            data = bq.scored(cases[name], rules, raw[name])
            picks = _decide(data, args.gate, args.top_n)
            hit = picks.any_eligible & (picks.best >= thr)
            right = picks.right(thr)
            n = len(data)
            rates, precisions = [], []
            for _ in range(args.draws):
                i = rng.integers(0, n, n)
                rates.append(hit[i].mean())
                precisions.append((hit[i] & right[i]).sum() / max(int(hit[i].sum()), 1))
            lo, hi = np.percentile(precisions, [2.5, 97.5])
            rlo, rhi = np.percentile(rates, [2.5, 97.5])
            hits, wrong = int(hit.sum()), int((hit & ~right).sum())
            print(
                f"  {name}: hits {hit.mean():.3f} [{rlo:.3f}, {rhi:.3f}], precision "
                f"{(hits - wrong) / hits:.4f} [{lo:.4f}, {hi:.4f}] ({wrong} wrong of {hits})"
            )


if __name__ == "__main__":
    main()
