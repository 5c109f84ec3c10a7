"""Admission by meaning: personal data, live state and random requests never enter the cache.

The cacheability classifier says whether a question's answer may be shared: ``general`` questions are
cacheable; ``private`` (the asker's own data or account state), ``live`` (the world's state now, or the
asker's location) and ``random`` (a fresh random outcome) are kept out, each by the operator's policy
(``keep_out_classes``; ``live_ttl_seconds`` lets live answers in for a few minutes). Two models:
``cacheability_model: text`` (default, ``models/cacheability_text.py``) reads the question's words with a
fine-tuned MiniLM, batched off the event loop; ``embedding`` (``models/cacheability.py``) reads the
embedding the lookup computes anyway, at no model cost, and is wrong more often.

It runs before any vector search and before any store. An exact repeat is served without embedding only
when its entry was admitted under the same classifier and policy (the entry records their fingerprint):
the same text then gets the same decision, so the fast path never serves what the classifier now rejects.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..models.batching import MicroBatcher
from ..models.cacheability import CacheabilityModel, Prediction
from ..models.cacheability_text import TextCacheabilityModel
from ..settings import SemCacheSettings
from .calibration import CacheabilityCalibration, decide_shifted

__all__ = ["PREFIX_CHARS", "PREFIX_WORDS", "ClassDecision", "ClassifierStage", "classifier_text"]

#: Words of an over-long question the classifier reads (its embedding window is 256 word pieces).
PREFIX_WORDS = 120
#: ... and characters: one whitespace-free blob is one "word", and tokenizing 200 kB of it held the
#: classifier's thread (every tenant's requests queue behind it) for ~40 ms. The text model reads 64 word
#: pieces, which normal text fills within a few hundred characters.
PREFIX_CHARS = 2000
#: Text readings remembered: the store after a miss decides the question the lookup just decided.
_RECENT_SIZE = 1024
#: One question's calibrated class probabilities, as the model gives them.
_Row = np.ndarray[Any, np.dtype[np.float32]]


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

    model: CacheabilityModel | TextCacheabilityModel
    keep_out: frozenset[str]
    live_ttl_seconds: int | None = None
    calibration: float | None = None
    """The operator's shift of the general logit (``cacheability_calibration``; per policy)."""
    name: str = "classifier"
    _batcher: MicroBatcher[str, _Row] | None = field(default=None, repr=False, compare=False)
    _recent: OrderedDict[str, _Row] = field(default_factory=OrderedDict, repr=False, compare=False)
    _recent_lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def __post_init__(self) -> None:
        if isinstance(self.model, TextCacheabilityModel) and self._batcher is None:
            # Concurrent requests share a model pass, in the classifier's own thread, off the event loop.
            model = self.model
            object.__setattr__(
                self,
                "_batcher",
                MicroBatcher(
                    lambda texts: list(model.probabilities(texts)), max_batch_size=32, name="classifier"
                ),
            )

    @classmethod
    def from_settings(cls, settings: SemCacheSettings) -> ClassifierStage | None:
        """The stage the settings describe; None when the classifier is switched off.

        Raises:
            ConfigError: the shipped model cannot be loaded, or the operator's calibration cannot be read
                or was measured with another model.
        """
        if not settings.cacheability_classifier:
            return None
        model = (
            TextCacheabilityModel.load()
            if settings.cacheability_model == "text"
            else CacheabilityModel.load()
        )
        return cls(
            model,
            frozenset(settings.keep_out_classes),
            settings.live_ttl_seconds,
            _general_shift(settings, model.version),
        )

    def with_policy(self, settings: SemCacheSettings) -> ClassifierStage:
        """The same model (and worker thread) under another policy's classes, live TTL and calibration.

        Raises:
            ConfigError: the policy's calibration cannot be read or was measured with another model.
        """
        return replace(
            self,
            keep_out=frozenset(settings.keep_out_classes),
            live_ttl_seconds=settings.live_ttl_seconds,
            calibration=_general_shift(settings, self.model.version),
        )

    @property
    def reads_vector(self) -> bool:
        """Whether decisions need the question's embedding (the embedding head) or only its text."""
        return isinstance(self.model, CacheabilityModel)

    @property
    def fingerprint(self) -> str:
        """Names the model and the policy: an entry admitted under another one is decided again."""
        policy: dict[str, Any] = {
            "model": self.model.version,
            "thresholds": self.model.thresholds,
            "keep_out": sorted(self.keep_out),
            "live_ttl": self.live_ttl_seconds,
            # What of a question the model reads: entries admitted under another reading are decided again.
            "reads": [PREFIX_WORDS, PREFIX_CHARS],
        }
        if self.calibration is not None:  # only then: uncalibrated entries keep their fingerprint
            policy["general_shift"] = self.calibration
        return hashlib.sha256(json.dumps(policy, sort_keys=True).encode()).hexdigest()[:16]

    async def decide(self, text: str, vector: np.ndarray[Any, Any] | None = None) -> ClassDecision:
        """The decision for a question (and its embedding, which only the embedding head reads).

        Raises:
            BackendUnavailable: the text model failed.
            ValueError: the embedding head was given no vector.
        """
        read = classifier_text(text)  # bounded, whatever the prompt's size (and the memory's key)
        if isinstance(self.model, CacheabilityModel):
            if vector is None:
                raise ValueError("the embedding head needs the question's vector")
            # On the event loop: its phrase features read the bounded text (microseconds, not seconds).
            row = self.model.probabilities(vector.reshape(1, -1), [read])[0]
        else:
            with self._recent_lock:
                remembered = self._recent.get(read)
            if remembered is None:
                assert self._batcher is not None
                remembered = await self._batcher.submit(read)
                with self._recent_lock:
                    self._recent[read] = remembered
                    while len(self._recent) > _RECENT_SIZE:
                        self._recent.popitem(last=False)
            row = remembered
        (prediction,) = self.predictions(row.reshape(1, -1))
        return self.apply_policy(prediction)

    def decide_many(
        self, texts: list[str], vectors: np.ndarray[Any, Any] | None = None
    ) -> list[ClassDecision]:
        """Blocking decisions for many questions (the CLI and the benchmarks)."""
        return [self.apply_policy(p) for p in self.predictions(self.probabilities_many(texts, vectors))]

    def predictions(self, probabilities: np.ndarray[Any, Any]) -> list[Prediction]:
        """The model's decision on its probabilities, after this policy's calibration."""
        return decide_shifted(self.model, probabilities, self.calibration)

    def probabilities_many(
        self, texts: list[str], vectors: np.ndarray[Any, Any] | None = None
    ) -> np.ndarray[Any, Any]:
        """Blocking calibrated class probabilities for many questions, one row each (as the model gives
        them: before any operator's calibration)."""
        if isinstance(self.model, CacheabilityModel):
            if vectors is None:
                raise ValueError("the embedding head needs the questions' vectors")
            return self.model.probabilities(vectors, [classifier_text(t) for t in texts])
        return self.model.probabilities([classifier_text(t) for t in texts])

    def apply_policy(self, prediction: Prediction) -> ClassDecision:
        """What the operator's policy makes of the model's decision."""
        if prediction.cacheable:
            return ClassDecision(True, prediction.label, prediction.probability)
        label = prediction.label
        if label == "live" and self.live_ttl_seconds is not None:
            return ClassDecision(True, label, prediction.probability, self.live_ttl_seconds)
        return ClassDecision(label not in self.keep_out, label, prediction.probability)


def _general_shift(settings: SemCacheSettings, model_version: str) -> float | None:
    """The shift of the operator's calibration file, checked against the model (None: no file)."""
    if settings.cacheability_calibration is None:
        return None
    calibration = CacheabilityCalibration.load(settings.cacheability_calibration)
    calibration.check(model_version)
    return calibration.general_shift


def classifier_text(query: str) -> str:
    """The part of a question the classifier can read: all of it, unless it is very long (then its first
    ``PREFIX_WORDS`` words, at most ``PREFIX_CHARS`` characters)."""
    words = query.split(None, PREFIX_WORDS)
    text = query if len(words) <= PREFIX_WORDS else " ".join(words[:PREFIX_WORDS])
    return text[:PREFIX_CHARS]
