"""Step 6 of the request path: decide whether a nearby stored query may answer this one.

The same function serves the live cache and ``litellm-semcache calibrate``, so a calibrated setting
behaves the same in production.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .settings import SemCacheSettings
from .store import Candidate

__all__ = ["Verdict", "Verifier"]


@dataclass(frozen=True)
class Verdict:
    """The outcome of a lookup: the entry to serve, or why none."""

    hit: Candidate | None
    reason: str
    """``hit``, ``no_candidates``, ``below_threshold``, ``answer_too_long``, ..."""
    similarity: float
    """Similarity of the best candidate seen (0.0 when there was none)."""


@dataclass(frozen=True)
class Verifier:
    """Checks candidates in order of similarity; the first that passes every check is the hit."""

    @classmethod
    def from_settings(cls, settings: SemCacheSettings) -> Verifier:
        """The verifier the settings describe."""
        del settings
        return cls()

    @classmethod
    def threshold_only(cls) -> Verifier:
        """A plain similarity threshold, every verification stage off (the baseline)."""
        return cls()

    def decide(
        self,
        query: str,
        candidates: Sequence[Candidate],
        threshold: float,
        *,
        max_tokens: int | None = None,
    ) -> Verdict:
        """The verdict for a query given its nearest stored queries (most similar first)."""
        if not candidates:
            return Verdict(None, "no_candidates", 0.0)
        best = candidates[0].similarity
        reason = "below_threshold"
        for candidate in candidates:
            if candidate.similarity < threshold:
                break
            if max_tokens is not None and (candidate.completion_tokens or 0) > max_tokens:
                reason = "answer_too_long"
                continue
            return Verdict(candidate, "hit", candidate.similarity)
        return Verdict(None, reason, best)
