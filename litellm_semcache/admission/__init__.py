"""Step 2 of the request path: may this question use the cache at all?

Stages run in the order of :data:`ADMISSION_ORDER`: the shape rules (``skipped``), then the never-cache
patterns (``filtered``). The first refusal decides, and nothing is looked up or stored. The cacheability
classifier (:mod:`.classifier`) then decides by meaning once the query's embedding exists, before any
vector search or store; ``always_cache_patterns`` let a question past it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from ..settings import SemCacheSettings
from ..stages import StageResult
from ..types import Outcome, ParsedQuery
from .patterns import PatternFilter
from .rules import ShapeRules

__all__ = ["ADMISSION_ORDER", "Admission", "AdmissionStage", "PatternFilter", "ShapeRules"]

#: The order admission stages run in.
ADMISSION_ORDER = ("rules", "patterns")


class AdmissionStage(Protocol):
    """A stage that can keep a question out; ``status`` is the outcome its refusals lead to."""

    @property
    def name(self) -> str:
        """The stage's name in :data:`ADMISSION_ORDER`."""
        ...

    @property
    def status(self) -> str:
        """``skipped`` or ``filtered``: what the request's outcome is when this stage refuses it."""
        ...

    def decide(self, subject: ParsedQuery) -> StageResult:
        """Passed, or the reason to keep the question out."""
        ...


@dataclass(frozen=True)
class Admission:
    """The admission stages, in order."""

    stages: Sequence[AdmissionStage]
    always: PatternFilter = PatternFilter(())
    """``always_cache_patterns``: a question they match skips the cacheability classifier."""

    @classmethod
    def from_settings(cls, settings: SemCacheSettings) -> Admission:
        """The stages the settings describe, in :data:`ADMISSION_ORDER`."""
        built: dict[str, AdmissionStage] = {
            "rules": ShapeRules(settings),
            "patterns": PatternFilter.from_settings(settings),
        }
        return cls(
            tuple(built[name] for name in ADMISSION_ORDER),
            PatternFilter(tuple(settings.always_cache_patterns)),
        )

    def exempt(self, parsed: ParsedQuery) -> bool:
        """Whether an ``always_cache_patterns`` entry lets the question past the classifier."""
        return self.always.match(parsed.user_texts) is not None

    def check(self, parsed: ParsedQuery) -> Outcome | None:
        """None when the question may use the cache, else the outcome that keeps it out."""
        for stage in self.stages:
            result = stage.decide(parsed)
            if not result.passed:
                status = "skipped" if stage.status == "skipped" else "filtered"
                return Outcome(status, result.reason, result.detail)  # type: ignore[arg-type]
        return None
