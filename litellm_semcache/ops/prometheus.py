"""The fleet-wide counters in the Prometheus text exposition format.

Every name here is what ``deploy/grafana/dashboards/semcache.json`` queries (checked against a live
``/semcache/metrics`` by ``tests/e2e/test_shadow_e2e.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric

from .metrics import SCORE_BUCKETS, SIMILARITY_BUCKETS
from .snapshot import Snapshot

__all__ = ["prometheus_text"]


class _SnapshotCollector:
    """Renders a snapshot as Prometheus metric families."""

    def __init__(self, snapshot: Snapshot, index_name: str) -> None:
        self.snapshot = snapshot
        self.index_name = index_name

    def collect(self) -> Iterator[Metric]:
        summary = self.snapshot.summary()
        index = self.index_name
        requests = CounterMetricFamily(
            "semcache_requests", "Chat requests by cache outcome.", labels=["index", "outcome"]
        )
        for outcome, key in (
            ("hit", "hits"),
            ("miss", "misses"),
            ("filtered", "filtered"),
            ("skipped", "skipped"),
            ("error", "errors"),
        ):
            requests.add_metric([index, outcome], summary[key])
        requests.add_metric([index, "shadow"], summary["shadow"]["lookups"])
        yield requests
        hits = CounterMetricFamily(
            "semcache_hits", "Hits by kind: exact repeat or by meaning.", labels=["index", "kind"]
        )
        hits.add_metric([index, "exact"], summary["hits_exact"])
        hits.add_metric([index, "semantic"], summary["hits_semantic"])
        yield hits
        kept_out = CounterMetricFamily(
            "semcache_not_cacheable", "Requests kept out of the cache, by reason.", labels=["index", "reason"]
        )
        for reason, count in {**summary["filtered_by_reason"], **summary["skipped_by_reason"]}.items():
            kept_out.add_metric([index, reason], count)
        yield kept_out
        misses = CounterMetricFamily(
            "semcache_misses_by_reason", "Misses by reason.", labels=["index", "reason"]
        )
        for reason, count in summary["misses_by_reason"].items():
            misses.add_metric([index, reason], count)
        yield misses
        ratio = GaugeMetricFamily("semcache_hit_ratio", "hits / (hits + misses).", labels=["index"])
        ratio.add_metric([index], summary["hit_rate"])
        yield ratio
        for name, key, help_text in (
            ("semcache_stored", "stored", "Answers stored."),
            ("semcache_tokens_saved", "tokens_saved", "Tokens not sent to providers thanks to hits."),
            ("semcache_cost_saved_usd", "cost_saved_usd", "Provider cost avoided (LiteLLM price map)."),
        ):
            family = CounterMetricFamily(name, help_text, labels=["index"])
            family.add_metric([index], summary[key])
            yield family
        for kind, key in (("hit", "similarity_hits"), ("near_miss", "similarity_near_misses")):
            yield self._histogram(
                f"semcache_similarity_{kind}",
                f"Similarity of each {kind.replace('_', ' ')} to the nearest stored query.",
                summary[key],
                SIMILARITY_BUCKETS,
                f"similarity_{kind}_sum",
            )
        for kind, key, name in (
            ("hit", "verifier_scores_hits", "hit"),
            ("near_miss", "verifier_scores_refused", "refused"),
        ):
            yield self._histogram(
                f"semcache_verifier_score_{name}",
                f"The learned verifier's probability for each candidate it {name.replace('hit', 'served')}.",
                summary[key],
                SCORE_BUCKETS,
                f"verifier_{kind}_sum",
            )
        yield from self._knowing(summary)
        problems = GaugeMetricFamily(
            "semcache_problem",
            "Processes reporting a lasting problem, by problem.",
            labels=["index", "problem"],
        )
        for name, problem in summary["problems"].items():
            problems.add_metric([index, name], problem["processes"])
        yield problems

    def _knowing(self, summary: dict[str, Any]) -> Iterator[Metric]:
        """Shadow mode, comparisons, audits, feedback, invalidations, and their per-tenant view."""
        index, shadow, audits = self.index_name, summary["shadow"], summary["audits"]
        lookups = CounterMetricFamily(
            "semcache_shadow_lookups",
            "Shadow-mode lookups: what the cache would have done (nothing was served).",
            labels=["index", "result"],
        )
        lookups.add_metric([index, "would_hit"], shadow["would_be_hits"])
        lookups.add_metric([index, "would_miss"], shadow["lookups"] - shadow["would_be_hits"])
        yield lookups
        ratio = GaugeMetricFamily(
            "semcache_would_be_hit_ratio", "Shadow mode: would-be hits / shadow lookups.", labels=["index"]
        )
        ratio.add_metric([index], shadow["would_be_hit_rate"])
        yield ratio
        compared = CounterMetricFamily(
            "semcache_shadow_comparisons",
            "Would-be hits whose cached answer was compared with the provider's fresh one.",
            labels=["index", "result"],
        )
        for result in ("agreed", "disagreed", "uncomparable"):
            compared.add_metric([index, result], shadow[result])
        yield compared
        audited = CounterMetricFamily(
            "semcache_audits",
            "Sampled audits of served hits, by how they ended.",
            labels=["index", "result"],
        )
        for result in ("agreed", "disagreed", "uncomparable", "failed", "skipped_busy"):
            audited.add_metric([index, result], audits[result])
        yield audited
        for name, value, help_text in (
            ("semcache_audit_tokens", audits["tokens"], "Tokens the provider charged for audits."),
            ("semcache_audit_cost_usd", audits["cost_usd"], "Provider cost of audits (LiteLLM price map)."),
        ):
            family = CounterMetricFamily(name, help_text, labels=["index"])
            family.add_metric([index], value)
            yield family
        wrong = GaugeMetricFamily(
            "semcache_wrong_hit_rate",
            "Estimated share of (would-be) hits whose answer is wrong: observed disagreements, the estimate "
            "corrected for the comparison's own errors, and its Wilson 95% interval (lower, upper).",
            labels=["index", "source", "bound"],
        )
        for source, block in (("shadow", shadow), ("audit", audits)):
            for bound in ("observed", "estimate", "lower", "upper"):
                wrong.add_metric([index, source, bound], block["wrong_hit_rate"][bound])
        yield wrong
        feedback = CounterMetricFamily(
            "semcache_feedback", "Users' verdicts sent to /semcache/feedback.", labels=["index", "verdict"]
        )
        for verdict, count in summary["feedback"].items():
            feedback.add_metric([index, verdict], count)
        yield feedback
        invalidated = CounterMetricFamily(
            "semcache_invalidated",
            "Entries removed as wrong: by a disagreeing audit, a user's feedback, or the delete route.",
            labels=["index", "reason"],
        )
        for reason in ("audit", "feedback", "api_delete"):
            invalidated.add_metric([index, reason], summary["invalidated"].get(reason, 0))
        yield invalidated
        yield from self._tenants(summary["by_tenant"])
        policies = CounterMetricFamily(
            "semcache_policy_requests",
            "Requests per policy (policies: in the settings), by outcome (shadow_* in shadow mode).",
            labels=["index", "policy", "outcome"],
        )
        for policy, outcomes in summary["by_policy"].items():
            for outcome, count in outcomes.items():
                policies.add_metric([index, policy, outcome], count)
        yield policies

    def _tenants(self, rows: list[dict[str, Any]]) -> Iterator[Metric]:
        labels = ["index", "namespace", "tenant"]
        lookups = CounterMetricFamily(
            "semcache_tenant_lookups",
            "Lookups per namespace and (hashed) tenant, by mode and result.",
            labels=[*labels, "mode", "result"],
        )
        wrong = GaugeMetricFamily(
            "semcache_tenant_wrong_hit_rate",
            "Estimated wrong-hit rate per namespace and tenant (see semcache_wrong_hit_rate).",
            labels=[*labels, "source", "bound"],
        )
        for row in rows:
            cell = [self.index_name, row["namespace"], row["tenant"]]
            lookups.add_metric([*cell, "serve", "hit"], row["hits"])
            lookups.add_metric([*cell, "serve", "miss"], row["lookups"] - row["hits"])
            lookups.add_metric([*cell, "shadow", "would_hit"], row["would_be_hits"])
            lookups.add_metric([*cell, "shadow", "would_miss"], row["shadow_lookups"] - row["would_be_hits"])
            for source in ("shadow", "audit"):
                for bound in ("observed", "estimate", "lower", "upper"):
                    wrong.add_metric([*cell, source, bound], row[f"{source}_wrong_hit_rate"][bound])
        yield lookups
        yield wrong

    def _histogram(
        self, name: str, help_text: str, counts: dict[str, int], bounds: tuple[float, ...], sum_key: str
    ) -> HistogramMetricFamily:
        cumulative, buckets = 0, []
        for bound in bounds:
            cumulative += counts.get(f"{bound:.2f}", 0)
            buckets.append((f"{bound:.2f}", cumulative))
        buckets.append(("+Inf", cumulative))
        histogram = HistogramMetricFamily(name, help_text, labels=["index"])
        histogram.add_metric([self.index_name], buckets, sum_value=self.snapshot.raw.get(sum_key, 0.0))
        return histogram


def prometheus_text(snapshot: Snapshot, index_name: str) -> str:
    """The counters in the Prometheus text exposition format."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_SnapshotCollector(snapshot, index_name))
    return generate_latest(registry).decode()
