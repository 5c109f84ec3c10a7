"""Cacheability classifier: may a query's answer be shared through the cache?

A small MLP over the query's all-MiniLM-L6-v2 embedding (which the lookup computes anyway) plus a few lexical
features of its text (question form, possessives, time and place words) gives the probabilities of
``general`` (same answer for everyone), ``private`` (the asker's own data, or acts on it), ``live`` (the
world's state now, or the asker's location) and ``random`` (a fresh random pick). Weights, feature
patterns, temperature, class bias, thresholds and metrics ship in ``artifacts/cacheability/``;
``training/cacheability/`` rebuilds them.
"""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError

__all__ = ["DEFAULT_DIRECTORY", "CacheabilityModel", "DecisionRule", "Prediction"]

#: The shipped artifact: ``card.json`` and the weights it names.
DEFAULT_DIRECTORY = Path(__file__).resolve().parent.parent / "artifacts" / "cacheability"

_Array = np.ndarray[Any, np.dtype[np.float32]]
_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Prediction:
    """The decision for one query."""

    label: str
    """The decided class: the cacheable class when cacheable; otherwise the most probable class that reached
    its keep-out threshold, or when none did the most probable non-cacheable class."""
    probability: float
    """The calibrated probability of ``label``."""
    cacheable: bool
    """False when the query must neither be looked up nor stored."""
    probabilities: dict[str, float]
    """Every class's calibrated probability."""


class DecisionRule:
    """A card's calibrated softmax and per-class thresholds: the decision every cacheability model shares.

    Probabilities are ``softmax(logits / temperature + class_bias)`` (both fitted on the dev split). A query
    is cacheable only when the cacheable class is the most probable, reaches its own threshold, and no other
    class reaches its keep-out threshold.
    """

    def __init__(self, card: dict[str, Any]) -> None:
        self.version = str(card["version"])
        self.classes = tuple(str(c) for c in card["classes"])
        self.thresholds = {str(k): float(v) for k, v in card["thresholds"].items()}
        self.cacheable_class = str(card["cacheable_class"])
        self.temperature = float(card["temperature"])
        self.class_bias = np.array(card.get("class_bias", [0.0] * len(self.classes)), dtype=np.float32)
        self._cacheable = (
            self.classes.index(self.cacheable_class) if self.cacheable_class in self.classes else 0
        )
        self._needed = self.thresholds.get(self.cacheable_class, 0.0)
        checked = [(n, t) for n, t in self.thresholds.items() if n != self.cacheable_class]
        self._checked = [(self.classes.index(n), t) for n, t in checked if n in self.classes]
        self._others = [i for i in range(len(self.classes)) if i != self._cacheable]

    def validate(self, where: str) -> None:
        """Raises ConfigError when the thresholds, temperature or bias do not fit the classes."""
        if self.cacheable_class not in self.classes:
            raise ConfigError(f"{where}: cacheable class not in classes {self.classes}")
        bad = {k: v for k, v in self.thresholds.items() if k not in self.classes or not 0.0 <= v <= 1.0}
        if bad or not self.temperature > 0.0 or self.class_bias.shape != (len(self.classes),):
            raise ConfigError(f"{where}: bad thresholds, temperature or class bias")

    def calibrate(self, logits: _Array) -> _Array:
        """Calibrated probabilities from raw logits (rows sum to 1); ``logits`` is overwritten."""
        x = logits
        x /= self.temperature
        x += self.class_bias
        x -= x.max(axis=1, keepdims=True)
        np.exp(x, out=x)
        x /= x.sum(axis=1, keepdims=True)
        return x

    def decide(self, probabilities: _Array) -> list[Prediction]:
        """One :class:`Prediction` per row of calibrated probabilities."""
        out: list[Prediction] = []
        for row in probabilities.tolist():
            hits = [(row[i], i) for i, t in self._checked if row[i] >= t]
            best = max(range(len(row)), key=row.__getitem__)
            if not hits and (best != self._cacheable or row[self._cacheable] < self._needed):
                hits = [(row[i], i) for i in self._others]
            label = self.classes[max(hits)[1]] if hits else self.cacheable_class
            probs = dict(zip(self.classes, row, strict=True))
            out.append(Prediction(label, probs[label], not hits, probs))
        return out


class CacheabilityModel(DecisionRule):
    """A ReLU MLP over ``[embedding, lexical features]`` with the card's calibrated softmax and thresholds."""

    def __init__(self, card: dict[str, Any], layers: list[tuple[_Array, _Array]]) -> None:
        """Build from a parsed card; use :meth:`load` for an artifact folder (it also validates).

        Args:
            card: The contents of ``card.json``.
            layers: ``(weights, bias)`` per layer, input first.
        """
        super().__init__(card)
        self.embedding_dim = int(card["input"]["dim"])
        self.feature_names = tuple(str(f["name"]) for f in card["features"])
        self._patterns = [re.compile(str(f["pattern"])) for f in card["features"]]
        self._scale = np.float32(card["feature_scale"])
        self._layers = layers

    @classmethod
    def load(cls, directory: Path | None = None) -> CacheabilityModel:
        """Read ``card.json`` and its weights file.

        Args:
            directory: The artifact folder; the shipped one when None.

        Returns:
            The model, ready to predict.

        Raises:
            ConfigError: The folder, card or weights are missing, unreadable or inconsistent.
        """
        folder = DEFAULT_DIRECTORY if directory is None else Path(directory)
        try:
            card = json.loads((folder / "card.json").read_text(encoding="utf-8"))
            with np.load(folder / str(card["weights"]), allow_pickle=False) as npz:
                layers = [
                    (npz[f"W{i}"].astype(np.float32), npz[f"b{i}"].astype(np.float32))
                    for i in range(int(card["layers"]))
                ]
            model = cls(card, layers)
        except (OSError, KeyError, IndexError, TypeError, ValueError, re.error, zipfile.BadZipFile) as exc:
            raise ConfigError(
                f"cacheability model at {folder} cannot be loaded: {type(exc).__name__}: {exc}"
            ) from exc
        model._validate(folder)
        return model

    def _validate(self, folder: Path) -> None:
        width = self.embedding_dim + len(self._patterns)
        for weights, bias in self._layers:
            if weights.ndim != 2 or weights.shape[0] != width or bias.shape != (weights.shape[1],):
                raise ConfigError(f"cacheability model at {folder}: layer shapes do not chain from {width}")
            width = weights.shape[1]
        if width != len(self.classes):
            raise ConfigError(f"cacheability model at {folder}: output does not match classes {self.classes}")
        self.validate(f"cacheability model at {folder}")

    @staticmethod
    def normalize(text: str) -> str:
        """Lower-case, straighten curly quotes and collapse whitespace (what the feature patterns read)."""
        return _SPACE.sub(" ", text.translate(_QUOTES).lower()).strip()

    def features(self, texts: Sequence[str]) -> _Array:
        """The lexical features, one row per text, already scaled.

        Args:
            texts: The query texts.

        Returns:
            An ``(n, len(feature_names))`` float32 array of 0 and ``feature_scale``.
        """
        rows = [[p.search(t) is not None for p in self._patterns] for t in map(self.normalize, texts)]
        return np.array(rows, dtype=np.float32).reshape(len(rows), len(self._patterns)) * self._scale

    def probabilities(self, vectors: np.ndarray, texts: Sequence[str]) -> _Array:
        """Calibrated class probabilities, one row per query (columns in ``classes`` order).

        Args:
            vectors: ``(n, 384)`` or ``(384,)`` normalized all-MiniLM-L6-v2 embeddings.
            texts: The ``n`` texts the vectors embed, in the same order.

        Returns:
            An ``(n, len(classes))`` array whose rows sum to 1.

        Raises:
            ValueError: The vectors do not have the embedding width, or texts and vectors differ in number.
        """
        x = np.asarray(vectors, dtype=np.float32)
        if x.ndim == 1:
            x = x[None, :]
        if x.ndim != 2 or x.shape[1] != self.embedding_dim:
            raise ValueError(f"expected vectors of width {self.embedding_dim}, got shape {x.shape}")
        if isinstance(texts, str) or len(texts) != x.shape[0]:
            raise ValueError(f"expected {x.shape[0]} texts aligned with the vectors")
        x = np.concatenate([x, self.features(texts)], axis=1)
        for i, (weights, bias) in enumerate(self._layers):
            x = x @ weights + bias
            if i < len(self._layers) - 1:
                np.maximum(x, 0.0, out=x)
        return self.calibrate(x)

    def predict(self, vectors: np.ndarray, texts: Sequence[str]) -> list[Prediction]:
        """Decide each query.

        Cached only when the cacheable class is the most probable, reaches its threshold, and no other class
        reaches its keep-out threshold.

        Args:
            vectors: ``(n, 384)`` or ``(384,)`` embeddings of the last user message.
            texts: The ``n`` texts those vectors embed (the same strings, in the same order).

        Returns:
            One :class:`Prediction` per row.
        """
        return self.decide(self.probabilities(vectors, texts))
