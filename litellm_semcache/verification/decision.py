"""Step 6 as the pipeline runs it: the rule stages on the nearest candidates, then the learned verifier
on what they let through, with the gates the calibration profile gives for the target precision.

Without the learned verifier (``learned_verifier: false``) a hit is the nearest candidate that reaches
``similarity_threshold`` (0.82 when unset) and passes the rule stages. With it switched on but not
loadable, semantic hits stop and exact repeats still serve: a weaker check is never swapped in silently.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import BackendUnavailable, ConfigError
from ..settings import SemCacheSettings
from ..store import Candidate
from .learned import LearnedVerifier
from .profile import CalibrationProfile, Gates
from .verifier import Verdict, Verifier

__all__ = ["RULES_ONLY_THRESHOLD", "Verification"]

logger = logging.getLogger("litellm_semcache")

#: The similarity a hit needs when the learned verifier is switched off and no threshold is set
#: (chosen with the contrast guard on validation data; see benchmarks/quality.py).
RULES_ONLY_THRESHOLD = 0.82


@dataclass
class Verification:
    """The rules, the learned verifier (if on and loaded) and the gates it runs with."""

    rules: Verifier
    gates: Gates
    learned: LearnedVerifier | None = None
    unavailable: str | None = None
    """Why semantic hits are off: the learned verifier is switched on but could not be loaded."""
    timeout_seconds: float = 2.0

    @classmethod
    def from_settings(
        cls, settings: SemCacheSettings, *, learned: LearnedVerifier | None = None
    ) -> Verification:
        """The verification the settings describe; never raises (an unloadable model is reported).
        ``learned``: a verifier already loaded (policies share one model, each with its own gates)."""
        rules = Verifier.from_settings(settings)
        if not settings.learned_verifier:
            gate = settings.similarity_threshold
            rules_only = Gates(
                target_precision=0.0,
                gate=RULES_ONLY_THRESHOLD if gate is None else gate,
                top_n=1,
                score_threshold=0.0,
            )
            return cls(rules, rules_only, timeout_seconds=settings.embedding_timeout_seconds)
        try:
            learned = learned or LearnedVerifier.load(settings.verifier_model)
            profile = CalibrationProfile.load(settings.calibration_profile)
            if profile.verifier != learned.version:
                raise ConfigError(
                    f"the calibration profile was measured with verifier {profile.verifier}, "
                    f"the loaded verifier is {learned.version}: recalibrate (litellm-semcache calibrate "
                    "--write-profile)"
                )
        except ConfigError as exc:
            message = (
                f"the learned verifier is unavailable ({exc}); semantic hits are off, exact repeats serve"
            )
            logger.warning("litellm-semcache: %s", message)
            off = Gates(target_precision=settings.target_precision, gate=1.0, top_n=1, score_threshold=1.0)
            return cls(rules, off, unavailable=message, timeout_seconds=settings.embedding_timeout_seconds)
        row = profile.gates(settings.target_precision)
        if not profile.reaches(settings.target_precision):
            logger.warning(
                "litellm-semcache: target_precision %.3f is beyond the calibration profile (best %.3f); "
                "using its strictest gates",
                settings.target_precision,
                row.target_precision,
            )
        overrides = {
            "gate": settings.similarity_threshold,
            "score_threshold": settings.verifier_threshold,
        }
        gates = row.model_copy(update={k: v for k, v in overrides.items() if v is not None})
        return cls(rules, gates, learned, timeout_seconds=settings.embedding_timeout_seconds)

    def describe(self) -> str:
        """The verification in one line, for the start-up log."""
        if self.unavailable is not None:
            return "semantic hits OFF: the learned verifier is unavailable"
        if self.learned is None:
            return f"rules only, similarity >= {self.gates.gate:.2f}"
        return (
            f"learned verifier {self.learned.version} at target precision {self.gates.target_precision:.3f} "
            f"(gate {self.gates.gate:.2f}, top {self.gates.top_n}, score >= {self.gates.score_threshold:.3f})"
        )

    async def decide(
        self,
        query: str,
        candidates: Sequence[Candidate],
        *,
        gate: float | None = None,
        max_answer_tokens: int | None = None,
    ) -> Verdict:
        """The verdict for a query and its nearest stored queries; ``gate`` overrides the cosine gate.

        Raises:
            BackendUnavailable: the learned verifier failed or timed out.
        """
        shortlist = self.rules.shortlist(
            query,
            candidates,
            self.gates.gate if gate is None else gate,
            max_answer_tokens=max_answer_tokens,
            top_n=self.gates.top_n,
        )
        if self.learned is None or not shortlist.passed:
            return self.rules.choose(shortlist)
        # The nearest candidate first, alone: on most hits it is the one, and one pair costs a fraction of
        # a batch of top_n. Only when it falls short are the others judged (benchmarks/quality.py and the
        # calibration profile measure exactly this rule: evaluation/gated.py).
        nearest, others = shortlist.passed[0], shortlist.passed[1:]
        scores = await self._score(query, (nearest,))
        if scores[nearest.id] >= self.gates.score_threshold:
            return Verdict(nearest, "semantic", nearest.similarity, score=scores[nearest.id])
        if others:
            scores.update(await self._score(query, others))
        return self.rules.choose(shortlist, scores, self.gates.score_threshold)

    async def _score(self, query: str, candidates: Sequence[Candidate]) -> dict[str, float]:
        assert self.learned is not None
        try:
            return await asyncio.wait_for(self.learned.score(query, candidates), self.timeout_seconds)
        except asyncio.TimeoutError as exc:
            raise BackendUnavailable("the learned verifier timed out") from exc
