"""Admission by phrase: keep personal and time-sensitive questions out of the cache.

"What is my balance?" or "What is the weather today?" must reach the model every time. A request whose
user text contains a never-cache pattern is neither looked up nor stored. Plain phrases are matched on
the folded words of the text (see :mod:`.folding`), ``re:`` regexes on the folded text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..settings import SemCacheSettings
from ..stages import PASSED, StageResult
from ..types import ParsedQuery
from .folding import fold_words, readings

__all__ = ["PatternFilter"]

_REGEX_PREFIX = "re:"


def _compile(pattern: str) -> re.Pattern[str]:
    if pattern.startswith(_REGEX_PREFIX):
        return re.compile(pattern[len(_REGEX_PREFIX) :], re.IGNORECASE)
    words = fold_words(pattern).split()
    # Word-aware: "current" must not match "currency", "my order" matches "my  Order".
    return re.compile(r"(?<!\w)" + r"\s+".join(re.escape(w) for w in words) + r"(?!\w)", re.IGNORECASE)


@dataclass(frozen=True)
class PatternFilter:
    """Matches user text against never-cache patterns (plain phrases or ``re:`` regexes)."""

    patterns: tuple[str, ...]
    name: str = "patterns"
    status: str = "filtered"
    _compiled: tuple[tuple[str, bool, re.Pattern[str]], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        compiled = tuple((p, p.startswith(_REGEX_PREFIX), _compile(p)) for p in dict.fromkeys(self.patterns))
        object.__setattr__(self, "_compiled", compiled)

    @classmethod
    def from_settings(cls, settings: SemCacheSettings) -> PatternFilter:
        """The filter for ``never_cache_patterns`` plus ``extra_never_cache_patterns``."""
        return cls((*settings.never_cache_patterns, *settings.extra_never_cache_patterns))

    def match(self, texts: Iterable[str]) -> str | None:
        """The first pattern found in any of the texts, or None."""
        for text in texts:
            for folded in readings(text):
                words = fold_words(folded)
                for source, is_regex, compiled in self._compiled:
                    if compiled.search(folded if is_regex else words):
                        return source
        return None

    def decide(self, subject: ParsedQuery) -> StageResult:
        """Refused (``pattern``, with the pattern as detail) when any user message contains one."""
        found = self.match(subject.user_texts)
        return PASSED if found is None else StageResult(False, "pattern", detail=found)
