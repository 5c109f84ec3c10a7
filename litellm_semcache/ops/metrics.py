"""Counters that aggregate across proxy replicas: hits, misses, filtered, errors, savings, similarities.

Each process counts in memory and adds its counts to one Redis hash (``<index_name>:stats``) about once
a second, in the background, so recording costs the request path nothing but a dict update. Every
replica adds to the same hash, so ``litellm-semcache stats`` and the Prometheus export see the fleet.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from redis.exceptions import RedisError

__all__ = [
    "SIMILARITY_BUCKETS",
    "Metrics",
    "Pricer",
    "Snapshot",
    "prometheus_text",
    "tokens_only",
    "usage_tokens",
]

logger = logging.getLogger(__name__)

#: Upper bounds of the similarity histogram (hits and near misses).
SIMILARITY_BUCKETS: tuple[float, ...] = (0.7, 0.75, 0.8, 0.85, 0.88, 0.9, 0.92, 0.94, 0.96, 0.98, 1.0)
_NEAR_MISS_FLOOR = SIMILARITY_BUCKETS[0]
_FLUSH_INTERVAL_SECONDS = 1.0
_MAX_PENDING_SAVINGS = 10_000


#: Tokens and cost a hit saved: ``(stored response JSON, model, provider) -> (tokens, USD)``.
Pricer = Callable[[str, str, str | None], tuple[int, float]]


def usage_tokens(response_json: str) -> tuple[int, int]:
    """Prompt and completion tokens in a stored answer's usage (0, 0 when it has none)."""
    try:
        usage = json.loads(response_json).get("usage") or {}
        return int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)
    except (ValueError, TypeError, AttributeError):
        return 0, 0


def tokens_only(response_json: str, model: str, provider: str | None) -> tuple[int, float]:
    """A pricer that knows no prices: tokens saved, cost unknown (0)."""
    return sum(usage_tokens(response_json)), 0.0


def _bucket(similarity: float) -> str:
    for bound in SIMILARITY_BUCKETS:
        if similarity <= bound + 1e-9:
            return f"{bound:.2f}"
    return "1.00"


class Metrics:
    """In-process counters flushed to a shared Redis hash."""

    def __init__(self, stats_key: str, pricer: Pricer = tokens_only) -> None:
        self.stats_key = stats_key
        self.pricer = pricer
        self._counts: Counter[str] = Counter()
        self._floats: defaultdict[str, float] = defaultdict(float)
        self._lock = threading.Lock()
        self._flushers: dict[asyncio.AbstractEventLoop, asyncio.Task[None]] = {}
        self._pending_savings: list[tuple[str, str, str | None]] = []

    # --- recording (cheap, sync) ----------------------------------------------------------------------
    def lookup(self, outcome: str, reason: str, similarity: float = 0.0) -> None:
        """Count the outcome of one request: hit, miss, filtered, skipped or error."""
        with self._lock:
            self._counts[outcome] += 1
            self._counts[f"{outcome}:{reason}"] += 1
            kind = "hit" if outcome == "hit" else "near_miss" if outcome == "miss" else None
            if kind == "hit" or (kind == "near_miss" and similarity >= _NEAR_MISS_FLOOR):
                self._counts[f"similarity_{kind}:{_bucket(similarity)}"] += 1
                self._floats[f"similarity_{kind}_sum"] += similarity

    def saved_later(self, response_json: str, model: str, provider: str | None) -> None:
        """Note a hit's stored completion; its tokens and price are worked out at the next flush, off the
        request path (the price lookup costs ~0.1 ms)."""
        with self._lock:
            if len(self._pending_savings) < _MAX_PENDING_SAVINGS:
                self._pending_savings.append((response_json, model, provider))

    def _settle_savings(self) -> None:
        with self._lock:
            pending, self._pending_savings = self._pending_savings, []
        for response_json, model, provider in pending:
            tokens, cost = self.pricer(response_json, model, provider)
            with self._lock:
                self._counts["tokens_saved"] += tokens
                self._floats["cost_saved_usd"] += cost

    def stored(self, stored: bool, reason: str) -> None:
        """Count a store, or a refusal to store (incomplete answer, ...)."""
        with self._lock:
            self._counts["stored" if stored else f"not_stored:{reason}"] += 1

    # --- flushing (async, background) -----------------------------------------------------------------
    def flush_in_background(self, client_for_loop: Callable[[], aioredis.Redis]) -> None:
        """Make sure this event loop flushes the counts about once a second (a task per loop)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        task = self._flushers.get(loop)
        if task is None or task.done():
            self._flushers[loop] = loop.create_task(self._flush_periodically(client_for_loop))

    async def _flush_periodically(self, client_for_loop: Callable[[], aioredis.Redis]) -> None:
        while True:
            await asyncio.sleep(_FLUSH_INTERVAL_SECONDS)
            if self._counts or self._floats or self._pending_savings:
                await self.flush(client_for_loop())

    async def flush(self, client: aioredis.Redis) -> None:
        """Add the local counts to the shared hash; on failure they are kept for the next try."""
        self._settle_savings()
        with self._lock:
            counts, floats = self._counts, self._floats
            self._counts, self._floats = Counter(), defaultdict(float)
        try:
            if counts or floats:
                async with client.pipeline(transaction=False) as pipe:
                    for field, value in counts.items():
                        pipe.hincrby(self.stats_key, field, value)
                    for field, amount in floats.items():
                        pipe.hincrbyfloat(self.stats_key, field, amount)
                    await pipe.execute()
        except (RedisError, OSError) as exc:
            with self._lock:
                self._counts.update(counts)
                for field, amount in floats.items():
                    self._floats[field] += amount
            logger.debug("litellm-semcache: stats flush failed: %s", exc)


@dataclass(frozen=True)
class Snapshot:
    """The fleet-wide counters as stored in Redis."""

    raw: Mapping[str, float]

    @classmethod
    def from_hash(cls, values: Mapping[bytes | str, bytes | str]) -> Snapshot:
        parsed: dict[str, float] = {}
        for key, value in values.items():
            name = key.decode() if isinstance(key, bytes) else key
            text = value.decode() if isinstance(value, bytes) else value
            parsed[name] = float(text)
        return cls(parsed)

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
        }


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
            counts = summary[key]
            cumulative, buckets = 0, []
            for bound in SIMILARITY_BUCKETS:
                cumulative += counts.get(f"{bound:.2f}", 0)
                buckets.append((f"{bound:.2f}", cumulative))
            buckets.append(("+Inf", cumulative))
            histogram = HistogramMetricFamily(
                f"semcache_similarity_{kind}",
                f"Similarity of each {kind.replace('_', ' ')} to the nearest stored query.",
                labels=["index"],
            )
            histogram.add_metric(
                [index], buckets, sum_value=self.snapshot.raw.get(f"similarity_{kind}_sum", 0.0)
            )
            yield histogram


def prometheus_text(snapshot: Snapshot, index_name: str) -> str:
    """The counters in the Prometheus text exposition format."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_SnapshotCollector(snapshot, index_name))
    return generate_latest(registry).decode()
