"""Admission by meaning: personal data, live state and random requests never enter the cache.

The cacheability classifier (``models/cacheability.py``) reads the query's embedding, which the lookup
computes anyway, and a few features of its text: ``general`` questions are cacheable; ``private`` (the
asker's own data or account state), ``live`` (the world's state now, or the asker's location) and
``random`` (a fresh random outcome) are kept out, each by the operator's policy (``keep_out_classes``;
``live_ttl_seconds`` lets live answers in for a few minutes).

It runs before any vector search and before any store. An exact repeat is served without embedding only
when its entry was admitted under the same classifier and policy (the entry records their fingerprint):
the same text then gets the same decision, so the fast path never serves what the classifier now rejects.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..models.cacheability import CacheabilityModel
from ..settings import SemCacheSettings

__all__ = ["PREFIX_WORDS", "ClassDecision", "ClassifierStage"]

#: Words of an over-long question the classifier reads (its embedding window is 256 word pieces).
PREFIX_WORDS = 120


@dataclass(frozen=True)
class ClassDecision:
    """What the classifier and the policy decided for one question."""

    admitted: bool
    label: str
    probability: float
    ttl_seconds: int | None = None
    """A shorter life for the entry (live answers under ``live_ttl_seconds``)."""


@dataclass(frozen=True)
class ClassifierStage:
    """The classifier with the operator's policy per class."""

    model: CacheabilityModel
    keep_out: frozenset[str]
    live_ttl_seconds: int | None = None
    name: str = "classifier"

    @classmethod
    def from_settings(cls, settings: SemCacheSettings) -> ClassifierStage | None:
        """The stage the settings describe; None when the classifier is switched off.

        Raises:
            ConfigError: the shipped model cannot be loaded.
        """
        if not settings.cacheability_classifier:
            return None
        return cls(CacheabilityModel.load(), frozenset(settings.keep_out_classes), settings.live_ttl_seconds)

    @property
    def fingerprint(self) -> str:
        """Names the model and the policy: an entry admitted under another one is decided again."""
        policy: dict[str, Any] = {
            "model": self.model.version,
            "thresholds": self.model.thresholds,
            "keep_out": sorted(self.keep_out),
            "live_ttl": self.live_ttl_seconds,
        }
        return hashlib.sha256(json.dumps(policy, sort_keys=True).encode()).hexdigest()[:16]

    def decide(self, text: str, vector: np.ndarray[Any, Any]) -> ClassDecision:
        """The decision for a question and its embedding."""
        (prediction,) = self.model.predict(vector.reshape(1, -1), [text])
        if prediction.cacheable:
            return ClassDecision(True, prediction.label, prediction.probability)
        label = prediction.label
        if label == "live" and self.live_ttl_seconds is not None:
            return ClassDecision(True, label, prediction.probability, self.live_ttl_seconds)
        return ClassDecision(label not in self.keep_out, label, prediction.probability)


def classifier_text(query: str) -> str:
    """The part of a question the classifier's embedding can read (all of it, unless it is very long)."""
    words = query.split(None, PREFIX_WORDS)
    return query if len(words) <= PREFIX_WORDS else " ".join(words[:PREFIX_WORDS])
