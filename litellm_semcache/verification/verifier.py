"""Step 6 of the request path: may a nearby stored query answer this one?

A hit needs more than one number over a threshold. The stages run in the order of
:data:`VERIFICATION_ORDER`, and each can only turn a hit into a miss:

1. **threshold**: the nearest stored query must reach the similarity threshold;
2. **vote** (opt-in, ``answer_vote``): the answer must hold most of the nearby similarity mass;
3. **contrast** (default on): a minimal edit that flips the answer (a number, a negation, a swapped
   direction, an antonym, my/your, a swapped name) is refused, see :mod:`.contrast`;
4. **instruction** and **payload** (default on): different instructions (style, language, format, an
   injected command) or different non-word payloads (numbers, operators, code, sequences) are different
   questions, see :mod:`.guards`;
5. **max_tokens**: a stored answer longer than the request allows is not served.

The same :class:`Verifier` serves the live cache and ``litellm-semcache calibrate``, so a calibrated
setting behaves the same in production. Defaults and their measurement: ``benchmarks/quality.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..settings import SemCacheSettings
from ..stages import Stage
from ..store import Candidate
from ..types import HitReason, MissReason
from .contrast import ContrastGuard
from .guards import InstructionGuard, PayloadGuard
from .stages import AnswerLength, AnswerVote, Contrast, Threshold, Trial

__all__ = ["VERIFICATION_ORDER", "Verdict", "Verifier"]

#: The order verification stages run in (those the settings turn off are left out).
VERIFICATION_ORDER = ("threshold", "vote", "contrast", "instruction", "payload", "max_tokens")


@dataclass(frozen=True)
class Verdict:
    """The outcome of verification: the entry to serve, or why none."""

    hit: Candidate | None
    reason: HitReason | MissReason
    """``semantic`` on a hit; else ``no_candidates``, ``below_threshold``, ``ambiguous``, ``contrast``,
    ``answer_too_long``."""
    similarity: float
    """Similarity of the candidate served, or of the best candidate seen (0.0 when there was none)."""
    detail: str | None = None


@dataclass(frozen=True)
class Verifier:
    """The verification stages, in order."""

    stages: Sequence[Stage[Trial]] = (Threshold(), Contrast(), AnswerLength())

    @classmethod
    def from_settings(cls, settings: SemCacheSettings) -> Verifier:
        """The stages the settings turn on, in :data:`VERIFICATION_ORDER`."""
        built: dict[str, Stage[Trial]] = {"threshold": Threshold(), "max_tokens": AnswerLength()}
        if settings.answer_vote:
            built["vote"] = AnswerVote(settings.vote_window, settings.vote_share)
        if settings.contrast_guard:
            built["contrast"] = Contrast(ContrastGuard())
        if settings.instruction_guard:
            built["instruction"] = InstructionGuard()
        if settings.payload_guard:
            built["payload"] = PayloadGuard()
        return cls(tuple(built[name] for name in VERIFICATION_ORDER if name in built))

    @classmethod
    def threshold_only(cls) -> Verifier:
        """A plain similarity threshold, every other stage off (the seed's recipe)."""
        return cls((Threshold(), AnswerLength()))

    def decide(
        self,
        query: str,
        candidates: Sequence[Candidate],
        threshold: float,
        *,
        max_answer_tokens: int | None = None,
    ) -> Verdict:
        """The verdict for a query given its nearest stored queries (most similar first)."""
        if not candidates:
            return Verdict(None, "no_candidates", 0.0)
        trial = Trial(query, candidates, candidates[0], threshold, max_answer_tokens)
        for stage in self.stages:
            result = stage.decide(trial)
            if not result.passed:
                return Verdict(None, result.reason, trial.best, result.detail)  # type: ignore[arg-type]
            if result.candidate is not None:
                trial = Trial(query, candidates, result.candidate, threshold, max_answer_tokens)
        return Verdict(trial.pick, "semantic", trial.pick.similarity)
