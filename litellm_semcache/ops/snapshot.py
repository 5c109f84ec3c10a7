"""The fleet-wide counters as ``litellm-semcache stats`` and the Prometheus export read them."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .estimates import estimate_rate
from .metrics import Cell, parse_cell_field

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

    def cells(self) -> dict[Cell, dict[str, int]]:
        """The per-tenant counters, by (namespace, hashed tenant)."""
        cells: dict[Cell, dict[str, int]] = {}
        for name, value in self.raw.items():
            parsed = parse_cell_field(name)
            if parsed is not None:
                counter, cell = parsed
                cells.setdefault(cell, {})[counter] = int(value)
        return cells

    def shadow(self) -> dict[str, Any]:
        """Shadow mode: would-be hits, and how their answers compared with the provider's fresh ones."""
        would, lookups = self.count("shadow:hit"), self.count("shadow")
        agreed, disagreed = self.count("shadow_compared:agreed"), self.count("shadow_compared:disagreed")
        return {
            "lookups": lookups,
            "would_be_hits": would,
            "would_be_hits_exact": self.count("shadow:hit:exact"),
            "would_be_hits_semantic": self.count("shadow:hit:semantic"),
            "would_be_hit_rate": round(would / lookups, 4) if lookups else 0.0,
            "misses_by_reason": self.by_prefix("shadow:miss:"),
            "agreed": agreed,
            "disagreed": disagreed,
            "uncomparable": self.count("shadow_compared:uncomparable"),
            "wrong_hit_rate": estimate_rate(disagreed, agreed + disagreed).as_dict(),
        }

    def audits(self) -> dict[str, Any]:
        """Audits of served hits: how they ended, what they cost, the wrong-hit rate they estimate."""
        results = {
            name: self.count(f"audit:{name}")
            for name in ("agreed", "disagreed", "uncomparable", "failed", "skipped_busy")
        }
        return {
            **results,
            "run": sum(v for k, v in results.items() if k != "skipped_busy"),
            "tokens": self.count("audit_tokens"),
            "cost_usd": round(self.raw.get("audit_cost_usd", 0.0), 6),
            "wrong_hit_rate": estimate_rate(
                results["disagreed"], results["agreed"] + results["disagreed"]
            ).as_dict(),
        }

    def by_tenant(self) -> list[dict[str, Any]]:
        """Per (namespace, tenant): lookups and hits, would-be hits, and the wrong-hit rate estimated from
        shadow comparisons and from audits; busiest first."""
        rows: list[dict[str, Any]] = []
        for (namespace, tenant), c in self.cells().items():
            lookups, shadow = c.get("lookups", 0), c.get("shadow_lookups", 0)
            rows.append(
                {
                    "namespace": namespace,
                    "tenant": tenant,
                    "lookups": lookups,
                    "hits": c.get("hits", 0),
                    "hit_rate": round(c.get("hits", 0) / lookups, 4) if lookups else 0.0,
                    "shadow_lookups": shadow,
                    "would_be_hits": c.get("shadow_hits", 0),
                    "would_be_hit_rate": round(c.get("shadow_hits", 0) / shadow, 4) if shadow else 0.0,
                    "shadow_wrong_hit_rate": estimate_rate(
                        c.get("shadow_disagreed", 0), c.get("shadow_agreed", 0) + c.get("shadow_disagreed", 0)
                    ).as_dict(),
                    "audit_wrong_hit_rate": estimate_rate(
                        c.get("audit_disagreed", 0), c.get("audit_agreed", 0) + c.get("audit_disagreed", 0)
                    ).as_dict(),
                    "feedback_wrong": c.get("feedback_wrong", 0),
                }
            )
        rows.sort(key=lambda r: (-int(r["lookups"] + r["shadow_lookups"]), r["namespace"], r["tenant"]))
        return rows

    def by_policy(self) -> dict[str, dict[str, int]]:
        """Outcomes per policy (only counted when policies are configured)."""
        policies: dict[str, dict[str, int]] = {}
        for name, count in self.by_prefix("policy:").items():
            policy, _, outcome = name.rpartition(":")
            policies.setdefault(policy, {})[outcome] = count
        return policies

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
            "shadow": self.shadow(),
            "audits": self.audits(),
            "feedback": {"wrong": self.count("feedback:wrong"), "correct": self.count("feedback:correct")},
            "invalidated": self.by_prefix("invalidated:"),
            "by_tenant": self.by_tenant(),
            "by_policy": self.by_policy(),
            "problems": dict(self.problems),
        }
