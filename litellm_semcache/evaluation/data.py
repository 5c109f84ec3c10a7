"""Labelled query data for evaluation: pairs (``a``, ``b``, ``same``) and intent-labelled sets.

Reads the public formats the benchmarks use: CSV/JSONL pairs, Banking77 CSV (``text,category``) and
CLINC150 ``data_full.json`` splits.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError

__all__ = ["OUT_OF_SCOPE", "IntentSet", "PairSet", "load_intent_split", "load_pairs"]

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
