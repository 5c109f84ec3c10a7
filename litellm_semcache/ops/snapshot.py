"""The fleet-wide counters as ``litellm-semcache stats`` and the Prometheus export read them."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["PROBLEM_MAX_AGE_SECONDS", "Snapshot"]

#: A process's problem report older than this is stale (the process stopped, or the problem is gone).
PROBLEM_MAX_AGE_SECONDS = 120.0


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


@dataclass(frozen=True)
class Snapshot:
    """The fleet-wide counters as stored in Redis."""

    raw: Mapping[str, float]
    problems: Mapping[str, dict[str, Any]] = field(default_factory=dict)
    """Problems processes report now, by name: how many processes, and one message."""

    @classmethod
    def from_hash(
        cls,
        values: Mapping[bytes | str, bytes | str],
        health: Mapping[bytes | str, bytes | str] | None = None,
        now: float | None = None,
    ) -> Snapshot:
        """The counters of the stats hash, and the recent problem reports of the health hash."""
        parsed = {_text(key): float(_text(value)) for key, value in values.items()}
        problems: dict[str, dict[str, Any]] = {}
        now = time.time() if now is None else now
        for report in (health or {}).values():
            try:
                data = json.loads(_text(report))
                if now - float(data["at"]) > PROBLEM_MAX_AGE_SECONDS:
                    continue
                for name, message in dict(data["problems"]).items():
                    entry = problems.setdefault(str(name), {"processes": 0, "message": str(message)})
                    entry["processes"] += 1
            except (ValueError, KeyError, TypeError):
                continue
        return cls(parsed, problems)

    def count(self, name: str) -> int:
        return int(self.raw.get(name, 0))

    def by_prefix(self, prefix: str) -> dict[str, int]:
        return {k[len(prefix) :]: int(v) for k, v in sorted(self.raw.items()) if k.startswith(prefix)}

    def summary(self) -> dict[str, Any]:
        """The `stats --json` object."""
        hits, misses = self.count("hit"), self.count("miss")
        lookups = hits + misses
        return {
            "hits": hits,
            "hits_exact": self.count("hit:exact"),
            "hits_semantic": self.count("hit:semantic"),
            "misses": misses,
            "filtered": self.count("filtered"),
            "skipped": self.count("skipped"),
            "errors": self.count("error"),
            "hit_rate": round(hits / lookups, 4) if lookups else 0.0,
            "stored": self.count("stored"),
            "tokens_saved": self.count("tokens_saved"),
            "cost_saved_usd": round(self.raw.get("cost_saved_usd", 0.0), 6),
            "filtered_by_reason": self.by_prefix("filtered:"),
            "skipped_by_reason": self.by_prefix("skipped:"),
            "misses_by_reason": self.by_prefix("miss:"),
            "not_stored_by_reason": self.by_prefix("not_stored:"),
            "similarity_hits": self.by_prefix("similarity_hit:"),
            "similarity_near_misses": self.by_prefix("similarity_near_miss:"),
            "verifier_scores_hits": self.by_prefix("verifier_hit:"),
            "verifier_scores_refused": self.by_prefix("verifier_near_miss:"),
            "problems": dict(self.problems),
        }
