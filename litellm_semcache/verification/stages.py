"""The verification stages: each looks at the candidate the previous ones let through.

A :class:`Trial` carries the asked query, the nearest stored queries (most similar first), the candidate
under consideration and the request's limits. Every stage returns a
:class:`~litellm_semcache.stages.StageResult`; the first refusal makes the lookup a miss with that
stage's reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..stages import PASSED, StageResult
from ..store import Candidate
from .contrast import ContrastGuard

__all__ = ["AnswerLength", "AnswerVote", "Contrast", "Threshold", "Trial"]


@dataclass(frozen=True)
class Trial:
    """What verification decides on."""

    query: str
    candidates: Sequence[Candidate]
    """The nearest stored queries of the scope, most similar first (never empty)."""
    pick: Candidate
    """The candidate that would be served."""
    threshold: float
    max_answer_tokens: int | None = None

    @property
    def best(self) -> float:
        """Similarity of the nearest stored query."""
        return self.candidates[0].similarity


@dataclass(frozen=True)
class Threshold:
    """The nearest stored query must reach the similarity threshold."""

    name: str = "threshold"

    def decide(self, subject: Trial) -> StageResult:
        """Refused (``below_threshold``) under the threshold."""
        similarity = subject.pick.similarity
        if similarity < subject.threshold:
            return StageResult(False, "below_threshold", score=similarity)
        return StageResult(True, score=similarity)


@dataclass(frozen=True)
class AnswerVote:
    """Among the candidates within ``window`` of the best, the answer to serve must hold ``share`` of the
    similarity mass, otherwise the query is ambiguous between different answers.

    Candidates count as one answer when their ``answer_id`` is equal, i.e. when the stored answers are the
    same text: for caches of canonical answers (an FAQ imported with ``litellm-semcache warm``), not for
    free LLM answers, which never share an id (measured: with one id per entry the vote refuses nearly
    everything).
    """

    window: float = 0.20
    share: float = 0.90
    name: str = "vote"

    def decide(self, subject: Trial) -> StageResult:
        """Passed with the winning answer's most similar candidate, or ``ambiguous``."""
        best = subject.best
        window = [c for c in subject.candidates if c.similarity >= best - self.window]
        mass: dict[str, float] = {}
        for candidate in window:
            mass[candidate.answer_id] = mass.get(candidate.answer_id, 0.0) + max(candidate.similarity, 0.0)
        winner = max(mass, key=lambda answer: mass[answer])  # ties: the first (most similar) wins
        share = mass[winner] / sum(mass.values()) if sum(mass.values()) else 0.0
        if mass[winner] < self.share * sum(mass.values()):
            return StageResult(False, "ambiguous", score=share)
        voted = next(c for c in window if c.answer_id == winner)
        if voted.similarity < subject.threshold:
            return StageResult(False, "below_threshold", score=voted.similarity)
        return StageResult(True, score=share, candidate=voted)


@dataclass(frozen=True)
class Contrast:
    """A minimal edit that flips the answer is refused (see :mod:`.contrast`)."""

    guard: ContrastGuard = ContrastGuard()
    name: str = "contrast"

    def decide(self, subject: Trial) -> StageResult:
        """Refused (``contrast``, with the kind of edit as detail) on a meaning-changing minimal edit."""
        kind = self.guard.check(subject.query, subject.pick.query)
        return PASSED if kind is None else StageResult(False, "contrast", detail=kind)


@dataclass(frozen=True)
class AnswerLength:
    """A stored answer longer than the request's ``max_tokens`` is not served."""

    name: str = "max_tokens"

    def decide(self, subject: Trial) -> StageResult:
        """Refused (``answer_too_long``) when the answer exceeds the request's limit."""
        limit = subject.max_answer_tokens
        if limit is not None and (subject.pick.completion_tokens or 0) > limit:
            return StageResult(False, "answer_too_long")
        return PASSED
