"""The LiteLLM cache backend: the request path and the write path, step by step.

LiteLLM calls ``async_get_cache`` before a completion and ``async_set_cache`` (as a background task)
after one. Lookup: parse → cacheability → scope → exact-id fast path → embed → vector search → verify.
Store: parse → cacheability → scope → complete-answer gate → embed (reusing the lookup's vector) → put.
Nothing here raises into LiteLLM: any failure is a miss, logged once per interval.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from litellm.caching.base_cache import BaseCache

from .answers import Answer, read_answer
from .cacheability import CacheabilityFilter
from .controls import cache_controls, max_age, requested_threshold, ttl_seconds
from .embedder import Embedder
from .errors import BackendUnavailable, SemCacheError
from .failsafe import CircuitBreaker, WarningThrottle
from .metrics import Metrics
from .request import ChatRequest, Skip, parse_request
from .scope import Scope, compute_scope, exact_entry_id
from .settings import SemCacheSettings
from .store import RedisStore, StoredEntry
from .verify import Verdict, Verifier

__all__ = ["STATUS_KEY", "Lookup", "SemanticCacheBackend", "status_of"]

logger = logging.getLogger("litellm_semcache")

_T = TypeVar("_T")


@dataclass(frozen=True)
class Lookup:
    """What a lookup found and why; ``entry`` is set on a hit."""

    outcome: str
    """``hit``, ``miss``, ``filtered``, ``skipped`` or ``error``."""
    reason: str
    entry: StoredEntry | None = None
    similarity: float = 0.0
    exact: bool = False
    timings: Mapping[str, float] = field(default_factory=dict)
    """Milliseconds per step of the lookup (parse, exact_get, embed, knn, verify, fetch)."""


class _Laps:
    """Times the steps of a lookup (a few perf_counter calls: cheap enough to always run)."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = (now - self._last) * 1000.0
        self._last = now


#: Longest question text kept in an entry (the exact-match id is a hash of the whole text).
MAX_STORED_QUERY_CHARS = 4000

#: Request-metadata key where a lookup leaves its outcome (the plugin turns it into response headers).
STATUS_KEY = "semcache"


def status_of(found: Lookup) -> dict[str, Any]:
    """What the response headers tell a client about the cache's decision."""
    status: dict[str, Any] = {"status": found.outcome, "reason": found.reason}
    if found.entry is not None:
        status["entry_id"] = found.entry.id
    return status


class SemanticCacheBackend(BaseCache):
    """A LiteLLM ``BaseCache`` that finds answers by meaning in a Redis vector index."""

    def __init__(
        self,
        settings: SemCacheSettings,
        *,
        redis_url: str,
        embedder: Embedder | None = None,
        store: RedisStore | None = None,
    ) -> None:
        super().__init__(default_ttl=settings.ttl_seconds)
        self.settings = settings
        self.embedder = embedder or Embedder(
            settings.embedding_model,
            max_batch_size=settings.max_batch_size,
            max_query_tokens=settings.max_query_tokens,
            runtime=settings.embedding_runtime,
        )
        self.store = store or RedisStore(
            redis_url,
            settings.index_name,
            self.embedder.dimensions,
            datatype=settings.vector_dtype,
            timeout_seconds=settings.redis_timeout_seconds,
            hnsw_ef_runtime=settings.hnsw_ef_runtime,
        )
        self.filter = CacheabilityFilter.from_settings(settings)
        self.verifier = Verifier.from_settings(settings)
        self.breaker = CircuitBreaker()
        self.warnings = WarningThrottle(logger)
        self.metrics = Metrics(self.store.stats_key)
        self._sync_loop: asyncio.AbstractEventLoop | None = None
        self._sync_lock = threading.Lock()

    # --- shared steps -----------------------------------------------------------------------------------
    def prepare(self, kwargs: Mapping[str, Any]) -> tuple[ChatRequest, Scope] | Lookup:
        """Parse, filter and scope a request; a :class:`Lookup` when the cache must stay out."""
        parsed = parse_request(kwargs, self.settings)
        if isinstance(parsed, Skip):
            logger.debug("litellm-semcache: skipped (%s)", parsed.reason)
            return Lookup("skipped", parsed.reason)
        decision = self.filter.check(parsed.user_texts)
        if not decision.cacheable:
            logger.debug("litellm-semcache: not cacheable (%s)", decision.reason)
            return Lookup("filtered", decision.reason)
        return parsed, compute_scope(parsed, self.settings, kwargs, cache_controls(kwargs))

    async def _guarded(self, work: Coroutine[Any, Any, _T], topic: str) -> _T | None:
        """Run backend work behind the circuit breaker; None when skipped or failed."""
        if not self.breaker.allow():
            work.close()
            return None
        try:
            result = await work
        except (SemCacheError, asyncio.TimeoutError) as exc:
            if self.breaker.failure():
                self.warnings.warn(
                    "breaker",
                    "litellm-semcache: cache bypassed for %.0fs after repeated "
                    "failures; requests go to the provider",
                    self.breaker.cooldown_seconds,
                )
            self.warnings.warn(topic, "litellm-semcache: %s failed, serving uncached: %s", topic, exc)
            return None
        except Exception as exc:  # never let the cache break a request
            self.breaker.failure()
            self.warnings.warn(
                topic, "litellm-semcache: unexpected %s error, serving uncached: %r", topic, exc
            )
            return None
        self.breaker.success()
        return result

    # --- lookup -------------------------------------------------------------------------------------------
    async def lookup(self, kwargs: Mapping[str, Any]) -> Lookup:
        """Find a stored answer for a request, and count the outcome. Never raises."""
        laps = _Laps()
        prepared = self.prepare(kwargs)
        laps.lap("prepare")
        if isinstance(prepared, Lookup):
            found = prepared
        else:
            result = await self._guarded(self._lookup(*prepared, kwargs, laps), "lookup")
            found = result if result is not None else Lookup("error", "backend_unavailable")
        self.record(found, kwargs)
        return found

    def record(self, found: Lookup, kwargs: Mapping[str, Any]) -> None:
        """Count a lookup outcome (and what a hit saved) in the shared metrics, and leave it in the
        request's metadata for the response headers."""
        metadata = kwargs.get("metadata")
        if isinstance(metadata, dict):
            metadata[STATUS_KEY] = status_of(found)
        self.metrics.lookup(found.outcome, found.reason, found.similarity)
        if found.entry is not None:
            model = kwargs.get("model") or found.entry.model
            self.metrics.saved_later(found.entry.response, str(model), kwargs.get("custom_llm_provider"))
        self.metrics.flush_in_background(self.store.client)

    async def _embed(self, text: str) -> Any:
        try:
            return await asyncio.wait_for(self.embedder.embed(text), self.settings.embedding_timeout_seconds)
        except asyncio.TimeoutError as exc:
            raise BackendUnavailable("embedding timed out") from exc

    async def _lookup(
        self, request: ChatRequest, scope: Scope, kwargs: Mapping[str, Any], laps: _Laps
    ) -> Lookup:
        controls = cache_controls(kwargs)
        try:
            threshold = requested_threshold(controls)
        except ValueError:
            threshold = None  # the proxy hook rejects it with a 400; SDK callers get the default
        if threshold is None:
            threshold = self.settings.similarity_threshold
        oldest = max_age(controls)
        min_created_at = self.store.now() - oldest if oldest is not None else None

        entry = await self.store.get(exact_entry_id(scope, request.query))
        laps.lap("exact_get")
        if (
            entry is not None
            and (min_created_at is None or entry.created_at >= min_created_at)
            and (request.max_tokens is None or (entry.completion_tokens or 0) <= request.max_tokens)
        ):
            return Lookup("hit", "exact", entry, 1.0, exact=True, timings=laps.laps)

        embedding = await self._embed(request.query)
        laps.lap("embed")
        if embedding.vector is None:
            return Lookup("miss", "query_too_long_for_embedding", timings=laps.laps)
        candidates = await self.store.nearest(
            embedding.vector, scope.key, self.settings.top_k, min_created_at=min_created_at
        )
        laps.lap("knn")
        verdict: Verdict = self.verifier.decide(
            request.query, candidates, threshold, max_tokens=request.max_tokens
        )
        laps.lap("verify")
        if verdict.hit is None:
            return Lookup("miss", verdict.reason, similarity=verdict.similarity, timings=laps.laps)
        entry = await self.store.get(verdict.hit.id)
        laps.lap("fetch")
        if entry is None:
            return Lookup("miss", "expired", similarity=verdict.similarity, timings=laps.laps)
        return Lookup("hit", "semantic", entry, verdict.similarity, timings=laps.laps)

    async def async_get_cache(self, key: str, **kwargs: Any) -> Any:
        """LiteLLM's read: the stored completion in LiteLLM's cache format, or None."""
        found = await self.lookup(kwargs)
        logger.debug(
            "litellm-semcache: %s (%s, similarity %.3f)", found.outcome, found.reason, found.similarity
        )
        if found.entry is None:
            return None
        metadata = kwargs.get("metadata")
        if isinstance(metadata, dict):
            metadata["semantic-similarity"] = round(found.similarity, 4)
        return {"timestamp": found.entry.created_at, "response": found.entry.response}

    # --- store ----------------------------------------------------------------------------------------------
    async def store_answer(self, value: Any, kwargs: Mapping[str, Any]) -> str | None:
        """Store a completed answer for a request; returns the entry id, or None when not stored."""
        prepared = self.prepare(kwargs)
        if isinstance(prepared, Lookup):
            return None
        request, scope = prepared
        answer = read_answer(value, allow_tool_calls=self.settings.cache_tool_calls)
        if not isinstance(answer, Answer):
            logger.debug("litellm-semcache: not storing (%s)", answer.reason)
            self.metrics.stored(False, answer.reason)
            return None
        entry_id = await self._guarded(
            self._store(request, scope, answer, ttl_seconds(kwargs, self.settings.ttl_seconds)), "store"
        )
        self.metrics.stored(entry_id is not None, "backend_unavailable")
        self.metrics.flush_in_background(self.store.client)
        return entry_id

    async def _store(self, request: ChatRequest, scope: Scope, answer: Answer, ttl: int) -> str:
        embedding = await self._embed(request.query)
        entry = StoredEntry(
            id=exact_entry_id(scope, request.query),
            query=request.query[:MAX_STORED_QUERY_CHARS],  # for listing and search; the id hashes it all
            response=answer.response_json,
            answer_id=answer.answer_id,
            model=answer.model,
            model_group=scope.model_group,
            namespace=scope.namespace,
            tenant=scope.tenant,
            scope=scope.key,
            created_at=self.store.now(),
            completion_tokens=answer.completion_tokens,
        )
        await self.store.put(entry, embedding.vector, ttl)
        return entry.id

    async def async_set_cache(self, key: str, value: Any, **kwargs: Any) -> None:
        """LiteLLM's write (already off the response path, in a background task)."""
        await self.store_answer(value, kwargs)

    async def async_set_cache_pipeline(self, cache_list: list[tuple[str, Any]], **kwargs: Any) -> None:
        """LiteLLM's batch write (embedding calls only, which this cache does not serve)."""
        for key, value in cache_list:
            await self.async_set_cache(key, value, **kwargs)

    # --- sync wrappers (litellm.completion without asyncio) -------------------------------------------------
    def _run_sync(self, coroutine: Coroutine[Any, Any, _T]) -> _T:
        with self._sync_lock:
            if self._sync_loop is None or self._sync_loop.is_closed():
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="semcache-sync", daemon=True).start()
                self._sync_loop = loop
        return asyncio.run_coroutine_threadsafe(coroutine, self._sync_loop).result()

    def get_cache(self, key: str, **kwargs: Any) -> Any:
        """Sync read, for ``litellm.completion``."""
        return self._run_sync(self.async_get_cache(key, **kwargs))

    def set_cache(self, key: str, value: Any, **kwargs: Any) -> None:
        """Sync write, for ``litellm.completion``."""
        self._run_sync(self.async_set_cache(key, value, **kwargs))

    # --- housekeeping ---------------------------------------------------------------------------------------
    async def ping(self) -> bool:
        """Used by the proxy's /cache/ping."""
        client = self.store.client()
        return bool(await client.ping())

    async def disconnect(self) -> None:
        """Close this loop's Redis connections."""
        await self.store.close()

    async def test_connection(self) -> dict[str, Any]:
        """LiteLLM's connection test."""
        try:
            await self.ping()
            await self.store.ensure_index()
        except Exception as exc:
            return {"status": "failed", "message": "litellm-semcache cannot reach Redis", "error": str(exc)}
        return {"status": "success", "message": "litellm-semcache is connected"}
