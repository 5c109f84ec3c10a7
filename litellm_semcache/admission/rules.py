"""Admission rules on a request's shape: what the cache cannot answer whatever the question means.

Several answers (``n`` > 1), log-probabilities, audio output, offered tools (unless ``cache_tool_calls``),
a temperature above ``max_temperature``, and earlier turns under ``context_policy: single_turn``.
The checks run in the order of :data:`RULES`; the first that applies names the outcome's reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..settings import SemCacheSettings
from ..stages import PASSED, StageResult
from ..types import ParsedQuery, SkipReason, Traits

__all__ = ["RULES", "ShapeRules"]

_Rule = Callable[[Traits, SemCacheSettings], bool]

#: (reason, applies) in the order they are checked.
RULES: tuple[tuple[SkipReason, _Rule], ...] = (
    ("n_not_1", lambda t, s: t.choices != 1),
    ("logprobs", lambda t, s: t.logprobs),
    ("audio_output", lambda t, s: t.audio_output),
    ("tools", lambda t, s: t.offers_tools and not s.cache_tool_calls),
    (
        "temperature_above_limit",
        lambda t, s: (
            s.max_temperature is not None and t.temperature is not None and t.temperature > s.max_temperature
        ),
    ),
    ("multi_turn", lambda t, s: t.earlier_turns > 0 and s.context_policy == "single_turn"),
)


@dataclass(frozen=True)
class ShapeRules:
    """The shape rules as one admission stage (its refusals are ``skipped`` outcomes)."""

    settings: SemCacheSettings
    name: str = "rules"
    status: str = "skipped"

    def decide(self, subject: ParsedQuery) -> StageResult:
        """The first rule that applies, or passed."""
        for reason, applies in RULES:
            if applies(subject.traits, self.settings):
                return StageResult(False, reason)
        return PASSED
