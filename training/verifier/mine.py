"""Stage 5b's pairs: the shipped verifier's own mistakes on training intent data, as the cache meets them.

    .venv/bin/python training/verifier/mine.py     # writes work/train_pairs_mined.csv

Every Banking77 fill text and CLINC150 train text is paired with its top-4 neighbours (the lookup's
``top_k``) whose cosine passes the shipped cosine gate, and every CLINC150 ``oos_train`` query with its 5
nearest in-scope texts; the shipped verifier (``artifacts/verifier``, int8) scores them all. Kept:
different-intent pairs it scores ≥ ``--neg-floor`` (the false hits and near-false hits: all of them),
same-intent pairs it scores below the profile's serving score (missed hits: up to as many as the
negatives), and a sample of the ones it already gets right (``--keep-right``), plus a replay of the stage-2
and stage-3 pairs and the hand-written hard pairs (3 copies) against forgetting. Never reads the Banking77
held-out part, CLINC150 val/test or any test split.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter

import numpy as np
from build_pairs import _has_digits_mismatch, _splits, either_order
from common import (
    ARTIFACT,
    HARD_PAIRS,
    REPO,
    SEED,
    WORK,
    Pair,
    banking77,
    clinc150,
    embed,
    read_pair_files,
    read_pairs,
    top_k,
    write_pairs,
)

sys.path.insert(0, str(REPO))
from litellm_semcache.models.cross_encoder import CrossEncoderScorer


def lookup_pairs(name: str, texts: list[str], labels: list[str], gate: float, k: int = 4) -> list[Pair]:
    """Each text against its top-k neighbours past the cosine gate, each unordered pair once."""
    vectors = embed(texts)
    idx, cos = top_k(vectors, vectors, k, exclude_self=True)
    out, seen = [], set()
    for i in range(len(texts)):
        for j, c in zip(idx[i], cos[i], strict=True):
            a, b = texts[i], texts[int(j)]
            key = frozenset((a.lower(), b.lower()))
            same = int(labels[i] == labels[int(j)])
            if c < gate or len(key) < 2 or key in seen or (same and _has_digits_mismatch(a, b)):
                continue
            seen.add(key)
            out.append(Pair(a, b, same, f"{name}:mined"))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--neg-floor", type=float, default=0.3, help="different-intent pairs scored at least this"
    )
    parser.add_argument("--keep-right", type=int, default=4000, help="pairs already decided right, sampled")
    parser.add_argument("--replay", type=int, default=12000, help="stage-2 + stage-3 pairs replayed")
    args = parser.parse_args()
    rng = random.Random(SEED + 6)
    profile = json.loads((ARTIFACT / "profile.json").read_text())
    row = next(r for r in profile["rows"] if abs(r["target_precision"] - 0.98) < 1e-9)
    gate, serve = float(row["gate"]), float(row["score_threshold"])
    print(f"shipped gates at 0.98: cosine {gate}, score {serve}")

    fill, _, _, _ = banking77()
    clinc, oos = clinc150("train"), clinc150("oos_train")
    pairs = lookup_pairs("b77", fill.texts, fill.labels, gate)
    pairs += lookup_pairs("clinc", clinc.texts, clinc.labels, gate)
    idx, cos = top_k(embed(oos.texts), embed(clinc.texts), 5)
    pairs += [
        Pair(q, clinc.texts[int(j)], 0, "clinc_oos:mined")
        for q, row_idx, row_cos in zip(oos.texts, idx, cos, strict=True)
        for j, c in zip(row_idx, row_cos, strict=True)
        if c >= gate
    ]
    scorer = CrossEncoderScorer.load(ARTIFACT, threads=2)
    scores = scorer.score([(p.a, p.b) for p in pairs])
    same = np.array([p.same for p in pairs], dtype=bool)
    print(
        f"{len(pairs)} lookup pairs, {same.sum()} same intent; served (score >= {serve}): "
        f"{(scores[same] >= serve).mean():.3f} of same, {(scores[~same] >= serve).mean():.4f} of different"
    )

    wrong_neg = [p for p, s in zip(pairs, scores, strict=True) if not p.same and s >= args.neg_floor]
    missed = [p for p, s in zip(pairs, scores, strict=True) if p.same and s < serve]
    right = [
        p
        for p, s in zip(pairs, scores, strict=True)
        if (p.same and s >= serve) or (not p.same and s < args.neg_floor)
    ]
    missed = rng.sample(missed, min(len(missed), max(len(wrong_neg), 1)))
    train = wrong_neg + missed + rng.sample(right, min(args.keep_right, len(right)))
    replay = read_pair_files([WORK / "train_pairs_stage2.csv", WORK / "train_pairs_stage3.csv"])
    train += rng.sample(replay, min(args.replay, len(replay)))
    hard = [p for p, r in zip(read_pairs(HARD_PAIRS), _splits(), strict=True) if r == "train"]
    train += [Pair(p.a, p.b, p.same, "hard") for p in hard] * 3
    train = either_order(train, rng)
    write_pairs(WORK / "train_pairs_mined.csv", train)
    counts = Counter(
        (p.source.split(":")[0] + (":mined" if "mined" in p.source else ""), p.same) for p in train
    )
    print(
        f"mined: {len(wrong_neg)} false or near-false hits, {len(missed)} missed hits; "
        f"{len(train)} pairs written"
    )
    for (source, s), count in sorted(counts.items()):
        print(f"  {source:18s} same={s} {count}")


if __name__ == "__main__":
    main()
