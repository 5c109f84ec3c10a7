"""Score pair files with a teacher model and write them back with a ``teacher`` column (for distillation).

The teacher is a cross-encoder folder as ``train.py`` writes it (e.g. all-mpnet-base-v2 fine-tuned with
``train.py --init work/teacher/all-mpnet-base-v2 --tokenizer work/teacher/all-mpnet-base-v2``). Scoring a
large model over ~90k pairs takes about an hour on the 2 cores, so the scores are appended to
``<out>.partial`` chunk by chunk and a rerun continues where the last one stopped; the output is written
when every pair is scored. ``train.py --train <out> --distill 0.5`` then trains on the mix of label and
teacher probability. ``--sources qqp hard`` scores only the pairs whose source starts with one of those
prefixes (where the teacher reads better than the student); the rest keep their label as the only target.

    ../../.venv/bin/python teacher_scores.py --model work/teacher_ce_qqp \\
        --pairs work/train_pairs_stage2.csv work/train_pairs_stage3.csv --out work/train_pairs_s23_teacher.csv
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import time
from pathlib import Path

import torch
from common import read_pair_files, write_pairs
from train import predict
from transformers import AutoModelForSequenceClassification, AutoTokenizer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, required=True, help="the teacher (model and tokenizer folder)")
    parser.add_argument("--pairs", type=Path, nargs="+", required=True, help="pair files (deduplicated)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--chunk", type=int, default=2048, help="pairs scored between two appends")
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--sources", nargs="+", default=None, help="score only pairs whose source starts with one of these"
    )
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    pairs = read_pair_files(args.pairs)
    prefixes = tuple(args.sources) if args.sources else ("",)
    chosen = [i for i, p in enumerate(pairs) if p.source.startswith(prefixes)]
    partial = args.out.with_name(args.out.name + ".partial")
    done: list[float] = []
    if partial.exists():
        with open(partial, encoding="utf-8") as handle:
            done = [float(row[0]) for row in csv.reader(handle) if row]
    print(f"{len(pairs)} pairs, {len(chosen)} to score, {len(done)} already scored", flush=True)
    tokenizer = AutoTokenizer.from_pretrained(str(args.model))
    model = AutoModelForSequenceClassification.from_pretrained(str(args.model))
    started = time.monotonic()
    for start in range(len(done), len(chosen), args.chunk):
        batch = [pairs[i] for i in chosen[start : start + args.chunk]]
        scores = predict(model, tokenizer, batch, args.max_length, size=64)
        with open(partial, "a", encoding="utf-8", newline="") as handle:
            csv.writer(handle).writerows([f"{s:.6f}"] for s in scores)
        done += [float(s) for s in scores]
        print(f"{len(done)}/{len(chosen)} scored, {(time.monotonic() - started) / 60:.1f} min", flush=True)
    if len(done) != len(chosen):
        raise SystemExit(f"{partial} holds {len(done)} scores for {len(chosen)} pairs: remove it and rerun")
    scored = dict(zip(chosen, done, strict=True))
    write_pairs(args.out, [dataclasses.replace(p, teacher=scored.get(i)) for i, p in enumerate(pairs)])
    partial.unlink()
    print(f"wrote {args.out}", flush=True)


if __name__ == "__main__":
    main()
