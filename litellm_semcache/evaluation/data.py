"""Labelled query data for evaluation: pairs (``a``, ``b``, ``same``) and intent-labelled sets.

Reads the public formats the benchmarks use: CSV/JSONL pairs, Banking77 CSV (``text,category``) and
CLINC150 ``data_full.json`` splits.
"""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError

__all__ = [
    "HOLDOUT_SEED",
    "OUT_OF_SCOPE",
    "IntentSet",
    "PairSet",
    "holdout_pairs",
    "holdout_split",
    "load_intent_split",
    "load_pairs",
]

#: The seed of the validation hold-outs: the learned verifier never trained on the held-out parts
#: (``training/verifier`` uses the same split), so calibrating on them is fair.
HOLDOUT_SEED = 20261130

#: Labels of queries no cached entry should answer (CLINC150's out-of-scope set).
OUT_OF_SCOPE = frozenset({"oos", ""})


@dataclass(frozen=True)
class PairSet:
    """Labelled pairs: is ``b`` the same question as ``a``?"""

    a: list[str]
    b: list[str]
    same: list[bool]


@dataclass(frozen=True)
class IntentSet:
    """Texts with intent labels (``oos`` or empty: an intent no cached entry has)."""

    texts: list[str]
    labels: list[str]


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "y", "same")


def load_pairs(path: Path) -> PairSet:
    """Pairs from CSV (header ``a,b,same``) or JSONL (``{"a", "b", "same"}``).

    Raises:
        ConfigError: a row misses a field.
    """
    with open(path, encoding="utf-8") as handle:
        if path.suffix.lower() in (".jsonl", ".ndjson"):
            rows: Iterable[dict[str, Any]] = (json.loads(line) for line in handle if line.strip())
        else:
            rows = csv.DictReader(handle)
        a, b, same = [], [], []
        for number, row in enumerate(rows, start=1):
            if not row.get("a") or not row.get("b") or row.get("same") in (None, ""):
                raise ConfigError(f"{path}: row {number} needs `a`, `b` and `same`")
            a.append(str(row["a"]))
            b.append(str(row["b"]))
            same.append(_truthy(row["same"]))
    return PairSet(a, b, same)


def load_intent_split(spec: str) -> IntentSet:
    """``train.csv`` (``text,category``) or ``data_full.json:test+oos_test`` (CLINC150 splits, ``+``-joined).

    Raises:
        ConfigError: the file or split does not exist or has no labelled texts.
    """
    path_text, _, splits = spec.partition(":")
    path = Path(path_text)
    if not path.exists():
        raise ConfigError(f"no such file: {path}")
    texts: list[str] = []
    labels: list[str] = []
    if path.suffix.lower() == ".json":
        data = json.loads(path.read_text())
        for split in (splits or "train").split("+"):
            if split not in data:
                raise ConfigError(f"{path} has no split {split!r} (has {sorted(data)})")
            for text, label in data[split]:
                texts.append(text)
                labels.append(label)
    else:
        with open(path, encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                text = row.get("text") or row.get("query") or ""
                label = row.get("category") or row.get("intent") or row.get("label") or ""
                if text:
                    texts.append(text)
                    labels.append(label)
    if not texts:
        raise ConfigError(f"no labelled texts in {spec}")
    return IntentSet(texts, labels)


def holdout_split(items: IntentSet, every: int = 10, seed: int = HOLDOUT_SEED) -> tuple[IntentSet, IntentSet]:
    """(fill, held out): one text in ``every`` of each intent held out (at least one), by a fixed seed."""
    by_label: dict[str, list[int]] = {}
    for i, label in enumerate(items.labels):
        by_label.setdefault(label, []).append(i)
    rng = random.Random(seed)
    held: set[int] = set()
    for label in sorted(by_label):
        rows = by_label[label][:]
        rng.shuffle(rows)
        held.update(rows[: max(1, len(rows) // every)])

    def pick(keep: bool) -> IntentSet:
        chosen = [i for i in range(len(items.texts)) if (i in held) != keep]
        return IntentSet([items.texts[i] for i in chosen], [items.labels[i] for i in chosen])

    return pick(True), pick(False)


def holdout_pairs(pairs: PairSet, every: int = 10, seed: int = HOLDOUT_SEED) -> tuple[PairSet, PairSet]:
    """(rest, held out): one pair in ``every`` held out, by a fixed seed."""
    order = list(range(len(pairs.same)))
    random.Random(seed).shuffle(order)
    held = set(order[: len(order) // every])

    def pick(keep: bool) -> PairSet:
        chosen = [i for i in range(len(pairs.same)) if (i in held) != keep]
        return PairSet(
            [pairs.a[i] for i in chosen], [pairs.b[i] for i in chosen], [pairs.same[i] for i in chosen]
        )

    return pick(True), pick(False)
