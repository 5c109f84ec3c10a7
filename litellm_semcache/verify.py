"""Step 6 of the request path: decide whether a nearby stored query may answer this one.

A hit needs more than one number over a threshold. In order, each stage can only turn a hit into a miss:

1. **threshold**: the nearest stored query must reach the similarity threshold;
2. **answer vote** (opt-in, ``answer_vote``): among the candidates within ``vote_window`` of the best, the
   answer to serve must hold ``vote_share`` of the similarity mass, otherwise the query is ambiguous
   between different answers. Candidates count as one answer when their ``answer_id`` is equal, i.e.
   when the stored answers are the same text: use it for caches of canonical answers (an FAQ imported
   with ``litellm-semcache warm``), not for free LLM answers, which never share an id (measured: with
   one id per entry the vote refuses nearly everything);
3. **contrast guard** (default on): a minimal edit that flips the answer (a number, a negation, a swapped
   direction, an antonym, my/your, a swapped name) is refused, see :mod:`litellm_semcache.contrast`;
4. **max_tokens**: a stored answer longer than the request allows is not served.

The same :class:`Verifier` serves the live cache and ``litellm-semcache calibrate``, so a calibrated
setting behaves the same in production. Defaults and their measurement: ``benchmarks/quality.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .contrast import ContrastGuard
from .settings import SemCacheSettings
from .store import Candidate

__all__ = ["Verdict", "Verifier"]


@dataclass(frozen=True)
class Verdict:
    """The outcome of a lookup: the entry to serve, or why none."""

    hit: Candidate | None
    reason: str
    """``hit``, ``no_candidates``, ``below_threshold``, ``ambiguous``, ``contrast:<kind>``,
    ``answer_too_long``."""
    similarity: float
    """Similarity of the best candidate seen (0.0 when there was none)."""


@dataclass(frozen=True)
class Verifier:
    """The hit decision, configured by the settings."""

    guard: ContrastGuard | None = ContrastGuard()
    answer_vote: bool = False
    vote_window: float = 0.20
    vote_share: float = 0.90

    @classmethod
    def from_settings(cls, settings: SemCacheSettings) -> Verifier:
        """The verifier the settings describe."""
        return cls(
            guard=ContrastGuard() if settings.contrast_guard else None,
            answer_vote=settings.answer_vote,
            vote_window=settings.vote_window,
            vote_share=settings.vote_share,
        )

    @classmethod
    def threshold_only(cls) -> Verifier:
        """A plain similarity threshold, every other stage off (the seed's recipe)."""
        return cls(guard=None, answer_vote=False)

    def _vote(self, candidates: Sequence[Candidate], best: float) -> Candidate | None:
        window = [c for c in candidates if c.similarity >= best - self.vote_window]
        mass: dict[str, float] = {}
        for candidate in window:
            mass[candidate.answer_id] = mass.get(candidate.answer_id, 0.0) + max(candidate.similarity, 0.0)
        winner = max(mass, key=lambda answer: mass[answer])  # ties: the first (most similar) wins
        if mass[winner] < self.vote_share * sum(mass.values()):
            return None
        return next(c for c in window if c.answer_id == winner)

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
        if best < threshold:
            return Verdict(None, "below_threshold", best)
        pick = candidates[0]
        if self.answer_vote:
            voted = self._vote(candidates, best)
            if voted is None:
                return Verdict(None, "ambiguous", best)
            pick = voted
            if pick.similarity < threshold:
                return Verdict(None, "below_threshold", best)
        if self.guard is not None:
            kind = self.guard.check(query, pick.query)
            if kind is not None:
                return Verdict(None, f"contrast:{kind}", best)
        if max_tokens is not None and (pick.completion_tokens or 0) > max_tokens:
            return Verdict(None, "answer_too_long", best)
        return Verdict(pick, "hit", pick.similarity)
