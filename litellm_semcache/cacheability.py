"""Step 2 of the request path: keep personal and time-sensitive questions out of the cache.

"What is my balance?" or "What is the weather today?" must reach the model every time. A request whose
user text contains a never-cache pattern is neither looked up nor stored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from .settings import SemCacheSettings

__all__ = ["CacheabilityFilter", "Decision"]

_REGEX_PREFIX = "re:"


@dataclass(frozen=True)
class Decision:
    """Whether a request may use the cache, and why not."""

    cacheable: bool
    reason: str
    """``"cacheable"``, or the pattern that matched, e.g. ``"pattern:my account"``."""


_CACHEABLE = Decision(True, "cacheable")


def _compile(pattern: str) -> re.Pattern[str]:
    if pattern.startswith(_REGEX_PREFIX):
        return re.compile(pattern[len(_REGEX_PREFIX) :], re.IGNORECASE)
    words = pattern.split()
    # Word-aware: "current" must not match "currency", "my order" matches "my  Order".
    return re.compile(r"(?<!\w)" + r"\s+".join(re.escape(w) for w in words) + r"(?!\w)", re.IGNORECASE)


class CacheabilityFilter:
    """Matches user text against the never-cache patterns (plain phrases or ``re:`` regexes)."""

    def __init__(self, patterns: Iterable[str]) -> None:
        self._patterns = [(p, _compile(p)) for p in dict.fromkeys(patterns)]

    @classmethod
    def from_settings(cls, settings: SemCacheSettings) -> CacheabilityFilter:
        """The filter for ``never_cache_patterns`` plus ``extra_never_cache_patterns``."""
        return cls([*settings.never_cache_patterns, *settings.extra_never_cache_patterns])

    def check(self, texts: Iterable[str]) -> Decision:
        """The first pattern found in any of the texts makes the request non-cacheable."""
        for text in texts:
            for source, compiled in self._patterns:
                if compiled.search(text):
                    return Decision(False, f"pattern:{source}")
        return _CACHEABLE
