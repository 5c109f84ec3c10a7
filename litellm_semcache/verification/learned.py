"""The learned verifier on the request path: scores (asked, stored) pairs with the cross-encoder,
batched with concurrent requests, in its own worker thread.

It only ever judges the few candidates that passed the vector search and the rule stages: never an
exact repeat, never a clear miss below the cosine gate, never a request the admission kept out.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..models.batching import MicroBatcher
from ..models.cross_encoder import CrossEncoderScorer
from ..store import Candidate

__all__ = ["LearnedVerifier"]


class LearnedVerifier:
    """A cross-encoder behind an async, batching interface."""

    def __init__(self, scorer: CrossEncoderScorer, *, max_batch_size: int = 64) -> None:
        self.scorer = scorer
        self.version = scorer.version
        self.pairs_scored = 0
        """Pairs judged so far on the request path (what never reaches it can be checked)."""
        self._batcher: MicroBatcher[tuple[str, str], float] = MicroBatcher(
            self._score_batch, max_batch_size=max_batch_size, name="verifier"
        )

    @classmethod
    def load(cls, directory: Path | None = None) -> LearnedVerifier:
        """The shipped verifier (or the one in ``directory``), loaded offline.

        Raises:
            ConfigError: the model cannot be loaded.
        """
        return cls(CrossEncoderScorer.load(directory))

    def _score_batch(self, pairs: list[tuple[str, str]]) -> list[float]:
        return [float(p) for p in self.scorer.score(pairs)]

    def score_pairs(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        """Blocking scores of many pairs (evaluation and calibration)."""
        return self._score_batch(list(pairs))

    async def score(self, query: str, candidates: Sequence[Candidate]) -> dict[str, float]:
        """The probability that each candidate's stored answer answers ``query``, by candidate id.

        Raises:
            BackendUnavailable: the model failed.
        """
        self.pairs_scored += len(candidates)
        scores = await self._batcher.submit_all([(query, c.query) for c in candidates])
        return {c.id: s for c, s in zip(candidates, scores, strict=True)}

    def close(self) -> None:
        """Stop the batching and the worker thread."""
        self._batcher.close()
