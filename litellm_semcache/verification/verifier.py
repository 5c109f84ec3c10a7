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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from ..settings import SemCacheSettings
from ..stages import Stage, StageResult
from ..store import Candidate
from ..types import HitReason, MissReason
from .contrast import ContrastGuard
from .guards import InstructionGuard, PayloadGuard
from .stages import AnswerLength, AnswerVote, Contrast, Threshold, Trial

__all__ = ["VERIFICATION_ORDER", "Shortlist", "Verdict", "Verifier"]

#: The order verification stages run in (those the settings turn off are left out).
VERIFICATION_ORDER = ("threshold", "vote", "contrast", "instruction", "payload", "max_tokens")


@dataclass(frozen=True)
class Verdict:
    """The outcome of verification: the entry to serve, or why none."""

    hit: Candidate | None
    reason: HitReason | MissReason
    """``semantic`` on a hit; else ``no_candidates``, ``below_threshold``, ``ambiguous``, ``contrast``,
    ``answer_too_long``, ``verifier``."""
    similarity: float
    """Similarity of the candidate served, or of the best candidate seen (0.0 when there was none)."""
    detail: str | None = None
    score: float | None = None
    """The learned verifier's probability for the candidate it judged (served or refused)."""


@dataclass(frozen=True)
class Shortlist:
    """The candidates every rule stage let through (most similar first), and why the nearest one was
    refused when it was."""

    passed: tuple[Candidate, ...]
    refusal: Verdict | None
    best: float


@dataclass(frozen=True)
class Verifier:
    """The rule stages, in order; a learned verifier's scores, when given, choose among what they pass."""

    stages: Sequence[Stage[Trial]] = (Threshold(), Contrast(), AnswerLength())

    @classmethod
    def from_settings(cls, settings: SemCacheSettings) -> Verifier:
        """The stages the settings turn on, in :data:`VERIFICATION_ORDER`."""
        built: dict[str, Stage[Trial]] = {"threshold": Threshold(), "max_tokens": AnswerLength()}
        if settings.answer_vote:
            built["vote"] = AnswerVote(settings.vote_window, settings.vote_share)
        if settings.contrast_guard:
            checks = frozenset(settings.active_contrast_checks)
            built["contrast"] = Contrast(ContrastGuard(checks=checks))
        if settings.instruction_guard:
            built["instruction"] = InstructionGuard()
        if settings.payload_guard:
            built["payload"] = PayloadGuard()
        return cls(tuple(built[name] for name in VERIFICATION_ORDER if name in built))

    @classmethod
    def threshold_only(cls) -> Verifier:
        """A plain similarity threshold, every other stage off (the seed's recipe)."""
        return cls((Threshold(), AnswerLength()))

    def _trial(self, trial: Trial) -> tuple[Trial, StageResult | None]:
        for stage in self.stages:
            result = stage.decide(trial)
            if not result.passed:
                return trial, result
            if result.candidate is not None:
                trial = replace(trial, pick=result.candidate)
        return trial, None

    def shortlist(
        self,
        query: str,
        candidates: Sequence[Candidate],
        threshold: float,
        *,
        max_answer_tokens: int | None = None,
        top_n: int = 1,
    ) -> Shortlist:
        """The rule stages on each of the ``top_n`` most similar candidates."""
        if not candidates:
            return Shortlist((), Verdict(None, "no_candidates", 0.0), 0.0)
        best = candidates[0].similarity
        passed: dict[str, Candidate] = {}
        refusal: Verdict | None = None
        for candidate in candidates[:top_n]:
            trial, refused = self._trial(Trial(query, candidates, candidate, threshold, max_answer_tokens))
            if refused is None:
                passed.setdefault(trial.pick.id, trial.pick)
            elif refusal is None:
                refusal = Verdict(None, refused.reason, best, refused.detail)  # type: ignore[arg-type]
        return Shortlist(tuple(passed.values()), refusal, best)

    @staticmethod
    def choose(
        shortlist: Shortlist, scores: Mapping[str, float] | None = None, score_threshold: float = 0.5
    ) -> Verdict:
        """The verdict: without scores, the nearest candidate the rules let through; with a learned
        verifier's scores, the best-scored one, if its score reaches ``score_threshold``."""
        if not shortlist.passed:
            assert shortlist.refusal is not None
            return shortlist.refusal
        if scores is None:
            pick = shortlist.passed[0]
            return Verdict(pick, "semantic", pick.similarity)
        pick = max(shortlist.passed, key=lambda c: (scores[c.id], c.similarity))
        score = scores[pick.id]
        if score < score_threshold:
            return Verdict(None, "verifier", shortlist.best, score=score)
        return Verdict(pick, "semantic", pick.similarity, score=score)

    def decide(
        self,
        query: str,
        candidates: Sequence[Candidate],
        threshold: float,
        *,
        max_answer_tokens: int | None = None,
        top_n: int = 1,
        scores: Mapping[str, float] | None = None,
        score_threshold: float = 0.5,
    ) -> Verdict:
        """The verdict for a query given its nearest stored queries (most similar first) and, for the
        learned verifier, the scores of the shortlisted ones (by candidate id)."""
        shortlist = self.shortlist(
            query, candidates, threshold, max_answer_tokens=max_answer_tokens, top_n=top_n
        )
        return self.choose(shortlist, scores, score_threshold)
