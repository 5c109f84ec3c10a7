"""The fleet-wide counters in the Prometheus text exposition format."""

from __future__ import annotations

from collections.abc import Iterator

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
        problems = GaugeMetricFamily(
            "semcache_problem",
            "Processes reporting a lasting problem, by problem.",
            labels=["index", "problem"],
        )
        for name, problem in summary["problems"].items():
            problems.add_metric([index, name], problem["processes"])
        yield problems

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
