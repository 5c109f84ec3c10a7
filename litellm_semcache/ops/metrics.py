"""Counters that aggregate across proxy replicas: hits, misses, filtered, errors, savings, similarities,
would-be hits (shadow mode), answer comparisons, audits and their spend, feedback.

Each process counts in memory and adds its counts to one Redis hash (``<index_name>:stats``) about once
a second, in the background, so recording costs the request path nothing but a dict update. Every
replica adds to the same hash, so ``litellm-semcache stats`` and the Prometheus export see the fleet.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable

import redis.asyncio as aioredis
from redis.exceptions import RedisError

__all__ = [
    "CELL_PREFIX",
    "SCORE_BUCKETS",
    "SIMILARITY_BUCKETS",
    "Cell",
    "Metrics",
    "Pricer",
    "cell_field",
    "parse_cell_field",
    "tokens_only",
    "usage_tokens",
]

logger = logging.getLogger(__name__)

#: Upper bounds of the similarity histogram (hits and near misses).
SIMILARITY_BUCKETS: tuple[float, ...] = (0.7, 0.75, 0.8, 0.85, 0.88, 0.9, 0.92, 0.94, 0.96, 0.98, 1.0)
#: Upper bounds of the learned verifier's score histogram (hits and refusals).
SCORE_BUCKETS: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0)
_NEAR_MISS_FLOOR = SIMILARITY_BUCKETS[0]
_FLUSH_INTERVAL_SECONDS = 1.0
_MAX_PENDING_SAVINGS = 10_000


#: Where per-tenant counters live in the stats hash: ``cell:<counter>:<JSON [namespace, tenant]>``.
CELL_PREFIX = "cell:"

Cell = tuple[str, str]
"""(namespace, hashed tenant): the unit the per-tenant counters are kept for."""


def cell_field(counter: str, cell: Cell) -> str:
    """The stats-hash field of a per-tenant counter (namespaces may hold any character: JSON keeps them)."""
    return f"{CELL_PREFIX}{counter}:{json.dumps(list(cell), ensure_ascii=False)}"


def parse_cell_field(field: str) -> tuple[str, Cell] | None:
    """(counter, cell) of a per-tenant field; None for any other field."""
    if not field.startswith(CELL_PREFIX):
        return None
    counter, _, rest = field[len(CELL_PREFIX) :].partition(":")
    try:
        namespace, tenant = json.loads(rest)
    except (ValueError, TypeError):
        return None
    return counter, (str(namespace), str(tenant))


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


def _bucket(value: float, bounds: tuple[float, ...] = SIMILARITY_BUCKETS) -> str:
    for bound in bounds:
        if value <= bound + 1e-9:
            return f"{bound:.2f}"
    return "1.00"


class Metrics:
    """In-process counters flushed to a shared Redis hash."""

    def __init__(self, stats_key: str, pricer: Pricer = tokens_only, health_key: str | None = None) -> None:
        self.stats_key = stats_key
        self.health_key = health_key or f"{stats_key.rsplit(':', 1)[0]}:health"
        self.pricer = pricer
        self._problems: dict[str, str] = {}
        self._process = f"{socket.gethostname()}:{os.getpid()}"
        self._counts: Counter[str] = Counter()
        self._floats: defaultdict[str, float] = defaultdict(float)
        self._lock = threading.Lock()
        self._flushers: dict[asyncio.AbstractEventLoop, asyncio.Task[None]] = {}
        self._pending_savings: list[tuple[str, str, str | None, str]] = []
        self._pending_spend: list[tuple[str, str, str | None]] = []

    # --- recording (cheap, sync) ----------------------------------------------------------------------
    def lookup(
        self,
        outcome: str,
        reason: str,
        similarity: float = 0.0,
        score: float | None = None,
        *,
        shadow: bool = False,
        cell: Cell | None = None,
        policy: str | None = None,
    ) -> None:
        """Count the outcome of one request (hit, miss, filtered, skipped or error), with the similarity
        and the learned verifier's score behind it. ``shadow``: the hit or miss of a shadow-mode lookup,
        counted apart (``shadow:hit`` is a would-be hit: nothing was served, nothing saved). ``policy``:
        the policy that decided, counted per policy (``policy:<name>:<outcome>``) when policies are set."""
        with self._lock:
            if policy is not None:
                self._counts[f"policy:{policy}:{'shadow_' if shadow else ''}{outcome}"] += 1
            if shadow:
                self._counts["shadow"] += 1
                self._counts[f"shadow:{outcome}"] += 1
                self._counts[f"shadow:{outcome}:{reason}"] += 1
            else:
                self._counts[outcome] += 1
                self._counts[f"{outcome}:{reason}"] += 1
            if cell is not None and outcome in ("hit", "miss"):
                prefix = "shadow_" if shadow else ""
                self._counts[cell_field(f"{prefix}lookups", cell)] += 1
                if outcome == "hit":
                    self._counts[cell_field(f"{prefix}hits", cell)] += 1
            kind = "hit" if outcome == "hit" else "near_miss" if outcome == "miss" else None
            if kind == "hit" or (kind == "near_miss" and similarity >= _NEAR_MISS_FLOOR):
                self._counts[f"similarity_{kind}:{_bucket(similarity)}"] += 1
                self._floats[f"similarity_{kind}_sum"] += similarity
            if kind is not None and score is not None:
                self._counts[f"verifier_{kind}:{_bucket(score, SCORE_BUCKETS)}"] += 1
                self._floats[f"verifier_{kind}_sum"] += score

    def problem(self, name: str, message: str) -> None:
        """Report a lasting problem of this process (e.g. the learned verifier did not load): the stats of
        every replica show it while the process keeps reporting it."""
        with self._lock:
            self._problems[name] = message

    def saved_later(
        self, response_json: str, model: str, provider: str | None, fallback_model: str = ""
    ) -> None:
        """Note a hit's stored completion; its tokens and price are worked out at the next flush, off the
        request path (the price lookup costs ~0.1 ms). ``fallback_model`` prices it when ``model`` is not in
        the price map (through the proxy ``model`` is the model group's name, e.g. ``gpt-a``)."""
        with self._lock:
            if len(self._pending_savings) < _MAX_PENDING_SAVINGS:
                self._pending_savings.append((response_json, model, provider, fallback_model))

    def _settle_savings(self) -> None:
        with self._lock:
            pending, self._pending_savings = self._pending_savings, []
        for response_json, model, provider, fallback in pending:
            tokens, cost = self.pricer(response_json, model, provider)
            if cost == 0.0 and fallback and fallback != model:
                tokens, cost = self.pricer(response_json, fallback, None)
            with self._lock:
                self._counts["tokens_saved"] += tokens
                self._floats["cost_saved_usd"] += cost
        with self._lock:
            spent, self._pending_spend = self._pending_spend, []
        for usage_json, model, provider in spent:
            tokens, cost = self.pricer(usage_json, model, provider)
            with self._lock:
                self._counts["audit_tokens"] += tokens
                self._floats["audit_cost_usd"] += cost

    def compared(self, source: str, verdict: str, cell: Cell | None = None) -> None:
        """Count a comparison of a cached answer with a fresh one: ``source`` ``shadow`` or ``audit``,
        ``verdict`` ``agreed``, ``disagreed`` or ``uncomparable`` (the fresh answer could not be read)."""
        with self._lock:
            self._counts[f"{source}_compared:{verdict}"] += 1
            if cell is not None and verdict != "uncomparable":
                self._counts[cell_field(f"{source}_{verdict}", cell)] += 1

    def audit(self, result: str) -> None:
        """Count how a sampled audit ended: ``agreed``, ``disagreed``, ``uncomparable``, ``failed`` (the
        provider call failed) or ``skipped_busy`` (every audit slot was taken)."""
        with self._lock:
            self._counts[f"audit:{result}"] += 1

    def spent_later(self, usage_json: str, model: str, provider: str | None) -> None:
        """Note an audit's provider call; its tokens and price are worked out at the next flush."""
        with self._lock:
            if len(self._pending_spend) < _MAX_PENDING_SAVINGS:
                self._pending_spend.append((usage_json, model, provider))

    def invalidated(self, reason: str, count: int = 1) -> None:
        """Count entries removed because they were wrong: ``audit``, ``feedback`` or ``api_delete``."""
        with self._lock:
            self._counts[f"invalidated:{reason}"] += count

    def feedback(self, correct: bool, cell: Cell | None = None) -> None:
        """Count a user's verdict on a served answer."""
        verdict = "correct" if correct else "wrong"
        with self._lock:
            self._counts[f"feedback:{verdict}"] += 1
            if cell is not None:
                self._counts[cell_field(f"feedback_{verdict}", cell)] += 1

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
            if self._counts or self._floats or self._pending_savings or self._pending_spend or self._problems:
                await self.flush(client_for_loop())

    async def flush(self, client: aioredis.Redis) -> None:
        """Add the local counts to the shared hash; on failure they are kept for the next try."""
        self._settle_savings()
        with self._lock:
            counts, floats = self._counts, self._floats
            self._counts, self._floats = Counter(), defaultdict(float)
            problems = dict(self._problems)
        try:
            if counts or floats or problems:
                async with client.pipeline(transaction=False) as pipe:
                    for field, value in counts.items():
                        pipe.hincrby(self.stats_key, field, value)
                    for field, amount in floats.items():
                        pipe.hincrbyfloat(self.stats_key, field, amount)
                    if problems:
                        report = json.dumps({"at": time.time(), "problems": problems})
                        pipe.hset(self.health_key, self._process, report)
                    await pipe.execute()
        except (RedisError, OSError) as exc:
            with self._lock:
                self._counts.update(counts)
                for field, amount in floats.items():
                    self._floats[field] += amount
            logger.debug("litellm-semcache: stats flush failed: %s", exc)
