"""Would the cached answer have been the same answer? Comparing a cached answer with a fresh one.

Shadow mode and audits ask the provider again and hold its fresh answer against the one the cache served
(or would have served). Free LLM answers never match word for word, so "the same answer" is decided on
meaning, with two rules that hold whatever the meaning says:

- **embedding**: the cosine of the two answers' all-MiniLM-L6-v2 embeddings (the cache's own model; a long
  answer is embedded in passages whose vectors are averaged) must reach the threshold;
- **numbers**: two answers that both state numbers but share none disagree ("boil it for 6 minutes" /
  "10 to 12 minutes", "37.8 °C" / "212 °F");
- **yes / no**: an answer opening with "Yes" and one opening with "No" disagree.

Calibrated on ``benchmarks/data/answer_pairs.csv`` (hand-written answers to the same question in other
words, against answers to similar but different questions; ``python -m benchmarks.answers``): the
threshold is chosen on the dev split, and the comparison's own errors measured on the test split are in
:data:`CALIBRATION`; the estimated wrong-hit rate corrects for them (``ops/estimates.py``).
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

if TYPE_CHECKING:
    from ..embedding import Embedder

__all__ = [
    "CALIBRATION",
    "AnswerCalibration",
    "AnswerComparator",
    "Comparison",
    "answer_passages",
    "numbers_disagree",
    "polarity_disagrees",
]


@dataclass(frozen=True)
class AnswerCalibration:
    """How the comparison was calibrated and how often it is wrong (measured on held-out pairs)."""

    threshold: float
    """Answer-embedding cosine from which two answers agree (chosen on the dev split)."""
    false_agree: float
    """Share of answers to *different* questions it calls the same (test split)."""
    false_disagree: float
    """Share of answers to the *same* question it calls different (test split)."""
    pairs: int
    """Test pairs the errors were measured on."""


#: The shipped calibration (``python -m benchmarks.answers`` writes the numbers it comes from:
#: ``benchmarks/results/answers.md``; ``tests/unit/test_answers.py`` checks they agree).
CALIBRATION = AnswerCalibration(threshold=0.75, false_agree=0.0658, false_disagree=0.1447, pairs=152)

Verdict = Literal["agree", "disagree"]

_NUMBER = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)*")
_POLARITY = re.compile(r"^\W*(yes|yeah|yep|no|nope|not|neither|unfortunately not)\b", re.IGNORECASE)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
#: Words per embedded passage: well inside all-MiniLM-L6-v2's 256 word pieces.
_PASSAGE_WORDS = 120
#: Passages embedded per answer (the rest of a very long answer is not read).
_MAX_PASSAGES = 8


@dataclass(frozen=True)
class Comparison:
    """The verdict on a (cached, fresh) answer pair, with the evidence behind it."""

    verdict: Verdict
    similarity: float
    """Cosine of the two answers' embeddings."""
    reason: str
    """``same_text``, ``similar``, ``dissimilar``, ``numbers`` or ``yes_no``."""

    @property
    def agree(self) -> bool:
        """The fresh answer says what the cached one said."""
        return self.verdict == "agree"


def _numbers(text: str) -> set[str]:
    return {n.replace(",", "") for n in _NUMBER.findall(text)}


def numbers_disagree(cached: str, fresh: str) -> bool:
    """Both answers state numbers, and they share none."""
    left, right = _numbers(cached), _numbers(fresh)
    return bool(left) and bool(right) and not (left & right)


def _polarity(text: str) -> str | None:
    match = _POLARITY.match(text)
    if match is None:
        return None
    return "yes" if match.group(1).lower() in ("yes", "yeah", "yep") else "no"


def polarity_disagrees(cached: str, fresh: str) -> bool:
    """One answer opens with yes, the other with no."""
    left, right = _polarity(cached), _polarity(fresh)
    return left is not None and right is not None and left != right


def answer_passages(text: str) -> list[str]:
    """An answer cut into passages the embedding model reads whole (sentences kept together)."""
    passages: list[str] = []
    current: list[str] = []
    count = 0
    for sentence in _SENTENCE_END.split(text.strip()):
        words = sentence.split()
        while len(words) > _PASSAGE_WORDS:  # one endless sentence (code, a list without stops)
            if current:
                passages.append(" ".join(current))
                current, count = [], 0
            passages.append(" ".join(words[:_PASSAGE_WORDS]))
            words = words[_PASSAGE_WORDS:]
        if count + len(words) > _PASSAGE_WORDS and current:
            passages.append(" ".join(current))
            current, count = [], 0
        if words:
            current.append(" ".join(words))
            count += len(words)
    if current:
        passages.append(" ".join(current))
    return passages[:_MAX_PASSAGES] or [text.strip()[:1000]]


class AnswerComparator:
    """Compares a cached answer with a fresh one (see the module docstring); the embedding runs in the
    cache's embedder, off the event loop."""

    def __init__(self, embedder: Embedder, threshold: float | None = None) -> None:
        self.embedder = embedder
        self.threshold = CALIBRATION.threshold if threshold is None else threshold

    def _vector(self, vectors: list[Any]) -> np.ndarray[Any, np.dtype[np.float32]] | None:
        usable = [v for v in vectors if v is not None]
        if not usable:
            return None
        mean = np.mean(np.stack(usable), axis=0)
        norm = float(np.linalg.norm(mean))
        return (mean / norm).astype(np.float32) if norm > 0 else None

    def similarity(self, cached: str, fresh: str) -> float:
        """Cosine of the two answers' embeddings (blocking: evaluation and calibration)."""
        left, right = answer_passages(cached), answer_passages(fresh)
        encoded = self.embedder.encode_batch(left + right)
        a = self._vector([e.vector for e in encoded[: len(left)]])
        b = self._vector([e.vector for e in encoded[len(left) :]])
        return float(a @ b) if a is not None and b is not None else 0.0

    async def asimilarity(self, cached: str, fresh: str) -> float:
        """:meth:`similarity` in the embedder's batches, off the event loop.

        Raises:
            BackendUnavailable: the model failed.
        """
        left, right = answer_passages(cached), answer_passages(fresh)
        # Submitted together: the passages of both answers share one batch.
        encoded = await asyncio.gather(*(self.embedder.embed(p) for p in left + right))
        a = self._vector([e.vector for e in encoded[: len(left)]])
        b = self._vector([e.vector for e in encoded[len(left) :]])
        return float(a @ b) if a is not None and b is not None else 0.0

    def decide(self, cached: str, fresh: str, similarity: float) -> Comparison:
        """The verdict given the two texts and their similarity (no model involved)."""
        if " ".join(cached.split()) == " ".join(fresh.split()):
            return Comparison("agree", 1.0, "same_text")
        if numbers_disagree(cached, fresh):
            return Comparison("disagree", similarity, "numbers")
        if polarity_disagrees(cached, fresh):
            return Comparison("disagree", similarity, "yes_no")
        if similarity >= self.threshold:
            return Comparison("agree", similarity, "similar")
        return Comparison("disagree", similarity, "dissimilar")

    def compare(self, cached: str, fresh: str) -> Comparison:
        """Blocking comparison (evaluation and calibration)."""
        return self.decide(cached, fresh, self.similarity(cached, fresh))

    async def acompare(self, cached: str, fresh: str) -> Comparison:
        """The comparison on the request path's embedder.

        Raises:
            BackendUnavailable: the model failed.
        """
        if " ".join(cached.split()) == " ".join(fresh.split()):
            return Comparison("agree", 1.0, "same_text")
        return self.decide(cached, fresh, await self.asimilarity(cached, fresh))
