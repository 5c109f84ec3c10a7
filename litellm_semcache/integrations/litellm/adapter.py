"""The LiteLLM cache backend: LiteLLM's ``BaseCache`` calls, translated to the pipeline's.

LiteLLM calls ``async_get_cache`` before a completion and ``async_set_cache`` (as a background task)
after one. Each request is prepared once (format, admission, scope): the pre-call hook or the lookup
prepares it and leaves a random token in the request's metadata, and the store finds the same
:class:`~litellm_semcache.pipeline.Prepared` by that token. Nothing here raises into LiteLLM.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Coroutine, Mapping
from dataclasses import replace
from typing import Any, TypeVar

from litellm.caching.base_cache import BaseCache

from ...embedding import Embedder
from ...formats import get_format
from ...pipeline import Pipeline, Prepared
from ...settings import SemCacheSettings
from ...store import RedisStore
from ...types import Outcome
from .controls import controls_of
from .pricing import litellm_pricer
from .requests import CALL_TYPE_FORMATS, identity_of

__all__ = ["PREPARED_KEY", "STATUS_KEY", "SemanticCacheBackend", "status_of"]

logger = logging.getLogger("litellm_semcache")

_T = TypeVar("_T")

#: Request-metadata key where a lookup leaves its outcome (the plugin turns it into response headers).
STATUS_KEY = "semcache"
#: Request-metadata key holding the token of the request's prepared form (never its content).
PREPARED_KEY = "semcache_prepared"

_PREPARED_MAX = 10_000
_INLINE_PREPARE_CHARS = 20_000
_PREPARED_TTL_SECONDS = 600.0


def status_of(found: Outcome) -> dict[str, Any]:
    """What the response headers tell a client about the cache's decision."""
    status: dict[str, Any] = {"status": found.status, "reason": found.reason_text}
    if found.entry is not None:
        status["entry_id"] = found.entry.id
    if found.score is not None:
        status["verifier_score"] = round(found.score, 4)
    if found.class_probability is not None:
        status["class_probability"] = round(found.class_probability, 4)
    return status


def cached_payload(value: object) -> object:
    """The response inside LiteLLM's stored-cache value ``{"timestamp", "response"}``."""
    if isinstance(value, Mapping) and "response" in value and "choices" not in value:
        return value["response"]
    return value


class _PreparedRequests:
    """Prepared requests by token, bounded in size and age (a request that never stores is forgotten)."""

    def __init__(self) -> None:
        self._items: OrderedDict[str, tuple[float, Prepared | Outcome]] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, prepared: Prepared | Outcome) -> str:
        token = secrets.token_hex(16)
        now = time.monotonic()
        with self._lock:
            self._items[token] = (now, prepared)
            while self._items and (
                len(self._items) > _PREPARED_MAX
                or now - next(iter(self._items.values()))[0] > _PREPARED_TTL_SECONDS
            ):
                self._items.popitem(last=False)
        return token

    def get(self, token: object) -> Prepared | Outcome | None:
        if not isinstance(token, str):
            return None
        with self._lock:
            item = self._items.get(token)
        return item[1] if item is not None else None

    def discard(self, token: object) -> None:
        if isinstance(token, str):
            with self._lock:
                self._items.pop(token, None)


class SemanticCacheBackend(BaseCache):
    """A LiteLLM ``BaseCache`` that finds answers by meaning: the pipeline behind LiteLLM's cache calls."""

    def __init__(
        self,
        settings: SemCacheSettings,
        *,
        redis_url: str,
        embedder: Embedder | None = None,
        store: RedisStore | None = None,
    ) -> None:
        super().__init__(default_ttl=settings.ttl_seconds)
        self.pipeline = Pipeline(
            settings, redis_url=redis_url, embedder=embedder, store=store, pricer=litellm_pricer
        )
        self.settings = settings
        self.embedder = self.pipeline.embedder
        self.store = self.pipeline.entries
        self.metrics = self.pipeline.metrics
        self._prepared = _PreparedRequests()
        self._sync_loop: asyncio.AbstractEventLoop | None = None
        self._sync_lock = threading.Lock()

    # --- shared steps -----------------------------------------------------------------------------------
    def prepare(self, kwargs: Mapping[str, Any], call_type: str = "completion") -> Prepared | Outcome:
        """The request's prepared form: computed on first use, then found by the token in its metadata."""
        metadata = kwargs.get("metadata")
        if isinstance(metadata, dict):
            known = self._prepared.get(metadata.get(PREPARED_KEY))
            if known is not None:
                return known
        prepared = self.pipeline.prepare(
            get_format(CALL_TYPE_FORMATS.get(call_type, "chat")),
            kwargs,
            identity=identity_of(kwargs),
            controls=controls_of(kwargs),
            model=str(kwargs.get("model") or ""),
            provider=kwargs.get("custom_llm_provider"),
        )
        if isinstance(metadata, dict):
            metadata[PREPARED_KEY] = self._prepared.put(prepared)
        return prepared

    async def aprepare(self, kwargs: Mapping[str, Any], call_type: str = "completion") -> Prepared | Outcome:
        """:meth:`prepare`, in a worker thread when the request is large (the never-cache patterns on a
        megabyte prompt take seconds: the event loop, and every other request, must not wait for them)."""
        format_ = get_format(CALL_TYPE_FORMATS.get(call_type, "chat"))
        if format_.size(kwargs) > _INLINE_PREPARE_CHARS:
            return await asyncio.to_thread(self.prepare, kwargs, call_type)
        return self.prepare(kwargs, call_type)

    def forget(self, kwargs: Mapping[str, Any]) -> None:
        """Drop a request's prepared form (after its store)."""
        metadata = kwargs.get("metadata")
        if isinstance(metadata, dict):
            self._prepared.discard(metadata.get(PREPARED_KEY))

    def record(self, found: Outcome, kwargs: Mapping[str, Any]) -> None:
        """Count an outcome and leave it in the request's metadata for the response headers."""
        metadata = kwargs.get("metadata")
        if isinstance(metadata, dict):
            metadata[STATUS_KEY] = status_of(found)
        prepared = self.prepare(kwargs)
        self.pipeline.record(found, prepared.request if isinstance(prepared, Prepared) else None)

    # --- lookup -------------------------------------------------------------------------------------------
    async def lookup(self, kwargs: Mapping[str, Any]) -> Outcome:
        """Find a stored answer for a request, and count the outcome. Never raises."""
        started = time.perf_counter()
        prepared = await self.aprepare(kwargs)
        prepare_ms = (time.perf_counter() - started) * 1000.0
        found = await self.pipeline.lookup(prepared)
        metadata = kwargs.get("metadata")
        if isinstance(metadata, dict):
            metadata[STATUS_KEY] = status_of(found)
        if found.timings:
            found = replace(found, timings={"prepare": prepare_ms, **found.timings})
        return found

    async def async_get_cache(self, key: str, **kwargs: Any) -> Any:
        """LiteLLM's read: the stored completion in LiteLLM's cache format, or None."""
        found = await self.lookup(kwargs)
        logger.debug(
            "litellm-semcache: %s (%s, similarity %.3f)", found.status, found.reason_text, found.similarity
        )
        if found.entry is None:
            return None
        metadata = kwargs.get("metadata")
        if isinstance(metadata, dict):
            metadata["semantic-similarity"] = round(found.similarity, 4)
        return {"timestamp": found.entry.created_at, "response": found.entry.response}

    # --- store --------------------------------------------------------------------------------------------
    async def store_answer(self, value: Any, kwargs: Mapping[str, Any]) -> str | None:
        """Store a completed answer for a request; returns the entry id, or None when not stored."""
        prepared = await self.aprepare(kwargs)
        self.forget(kwargs)
        if not isinstance(prepared, Prepared):
            return None
        format_ = get_format(CALL_TYPE_FORMATS["completion"])
        answer = format_.read_answer(cached_payload(value), self.settings)
        return await self.pipeline.store(prepared, answer)

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
        return await self.pipeline.ping()

    async def disconnect(self) -> None:
        """Close this loop's Redis connections."""
        await self.pipeline.close()

    async def test_connection(self) -> dict[str, Any]:
        """LiteLLM's connection test."""
        try:
            await self.ping()
            await self.store.ensure_index()
        except Exception as exc:
            return {"status": "failed", "message": "litellm-semcache cannot reach Redis", "error": str(exc)}
        return {"status": "success", "message": "litellm-semcache is connected"}
