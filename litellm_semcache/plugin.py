"""The LiteLLM integration: install the backend as ``litellm.cache`` and filter requests before the call.

The proxy has no registry of cache types, but it imports ``litellm_settings.callbacks`` entries. Listing
``litellm_semcache.semantic_cache`` there builds the plugin, which installs the backend into LiteLLM's
cache machinery (so hits come back as normal cached completions, with LiteLLM's cache headers and zero
cost) and registers a pre-call hook that keeps non-cacheable requests away from the cache.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from typing import Any

import litellm
from litellm.caching.caching import Cache
from litellm.integrations.custom_logger import CustomLogger
from litellm.types.caching import LiteLLMCacheType
from redis.exceptions import RedisError

from .admin import stats as admin_stats
from .backend import STATUS_KEY, Lookup, SemanticCacheBackend
from .controls import cache_controls, requested_threshold
from .embedded_redis import ensure_embedded_redis
from .errors import BackendUnavailable, ConfigError, SchemaMismatchError
from .settings import SemCacheSettings, load_settings

__all__ = ["SemanticCachePlugin", "install", "proxy_config_path"]

logger = logging.getLogger("litellm_semcache")

#: Chat completions only: embeddings, audio, Responses and Anthropic-format calls are not cached.
SUPPORTED_CALL_TYPES = ["acompletion", "completion"]


def proxy_config_path() -> str | None:
    """The config file the running LiteLLM proxy was started with, if any."""
    try:
        from litellm.proxy import proxy_server
    except ImportError:  # the SDK without the proxy extra
        proxy_server = None  # type: ignore[assignment]
    path = getattr(proxy_server, "user_config_file_path", None) if proxy_server is not None else None
    return path or os.environ.get("CONFIG_FILE_PATH") or os.environ.get("SEMCACHE_CONFIG") or None


def _run_in_fresh_loop(coroutine_factory: Any) -> Any:
    """Run async start-up work while the proxy's own loop may already be running in this thread."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = asyncio.run(coroutine_factory())
        except BaseException as exc:  # handed to the caller's thread
            outcome["error"] = exc

    thread = threading.Thread(target=target, name="semcache-startup")
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


class SemanticCachePlugin(CustomLogger):
    """The object listed in ``litellm_settings.callbacks``; owns the backend."""

    def __init__(self, backend: SemanticCacheBackend) -> None:
        super().__init__()
        self.backend = backend
        self.settings: SemCacheSettings = backend.settings

    async def async_pre_call_hook(
        self, user_api_key_dict: Any, cache: Any, data: dict[str, Any], call_type: str
    ) -> dict[str, Any]:
        """Mark non-cacheable chat requests ``no-cache``/``no-store``; reject malformed cache controls.

        Raises:
            fastapi.HTTPException: 400 when ``cache.similarity-threshold`` is not a number in [0, 1].
        """
        if call_type not in SUPPORTED_CALL_TYPES:
            return data
        controls = cache_controls(data)
        try:
            requested_threshold(controls)
        except ValueError as exc:
            from fastapi import HTTPException

            raise HTTPException(status_code=400, detail=str(exc)) from exc
        prepared = self.backend.prepare(data)
        if isinstance(prepared, Lookup):
            data["cache"] = {**controls, "no-cache": True, "no-store": True}
            self.backend.record(prepared, data)
        return data

    async def async_post_call_response_headers_hook(
        self,
        data: dict[str, Any],
        user_api_key_dict: Any,
        response: Any,
        request_headers: dict[str, str] | None = None,
        litellm_call_info: dict[str, Any] | None = None,
    ) -> dict[str, str] | None:
        """``x-semcache-status`` (hit, miss, filtered, skipped, error), ``-reason`` and, on a hit,
        ``-entry-id`` (what `litellm-semcache delete` takes to remove a wrong answer)."""
        metadata = data.get("metadata") if isinstance(data, dict) else None
        status = metadata.get(STATUS_KEY) if isinstance(metadata, dict) else None
        if not isinstance(status, dict):
            return None
        headers = {
            "x-semcache-status": str(status.get("status")),
            "x-semcache-reason": str(status.get("reason")),
        }
        if status.get("entry_id"):
            headers["x-semcache-entry-id"] = str(status["entry_id"])
        return headers


async def _check_index(backend: SemanticCacheBackend) -> None:
    try:
        await backend.store.ensure_index()
    finally:
        await backend.store.close()


#: Where the running proxy serves the cache's counters in the Prometheus text format.
METRICS_PATH = "/semcache/metrics"


def _mount_metrics_route(backend: SemanticCacheBackend) -> None:
    """Serve the fleet-wide counters next to LiteLLM's own routes (only inside the proxy)."""
    try:
        from fastapi.responses import PlainTextResponse
        from litellm.proxy.proxy_server import app
    except ImportError:
        return
    if any(getattr(route, "path", None) == METRICS_PATH for route in app.routes):
        return

    async def semcache_metrics() -> PlainTextResponse:
        from .metrics import prometheus_text

        try:
            await backend.metrics.flush(backend.store.client())  # this process's latest counts
            snapshot = await admin_stats(backend.store)
        except (RedisError, OSError) as exc:
            return PlainTextResponse(f"litellm-semcache: Redis unavailable: {exc}\n", status_code=503)
        return PlainTextResponse(
            prometheus_text(snapshot, backend.settings.index_name), media_type="text/plain; version=0.0.4"
        )

    app.add_api_route(METRICS_PATH, semcache_metrics, methods=["GET"], include_in_schema=False)


def install(
    settings: SemCacheSettings | None = None, *, config_path: str | None = None, **overrides: Any
) -> SemanticCachePlugin:
    """Install the semantic cache into LiteLLM (``litellm.cache``); returns the plugin.

    For the SDK without the proxy::

        import litellm, litellm_semcache
        litellm_semcache.install(redis_url="redis://localhost:6379", similarity_threshold=0.9)
        litellm.completion(model="gpt-4o-mini", messages=[...])   # paraphrases now hit

    Raises:
        ConfigError: invalid settings, or no Redis and no embedded one allowed.
        SchemaMismatchError: the index exists with another schema.
        EmbeddedRedisError: the embedded Redis Stack was needed and did not start.
    """
    if settings is None:
        settings = load_settings(config_path, **overrides)
    elif overrides:
        settings = settings.model_copy(update=overrides)
    redis_url = settings.redis_url
    if not redis_url:
        if not settings.embedded_redis:
            raise ConfigError("no redis_url configured (REDIS_URL) and embedded_redis is off")
        redis_url = ensure_embedded_redis(settings.state_dir).url
    backend = SemanticCacheBackend(settings, redis_url=redis_url)
    backend.embedder.encode_batch(["warm-up"])  # the first request should not pay for lazy init
    try:
        _run_in_fresh_loop(lambda: _check_index(backend))
    except SchemaMismatchError:
        raise
    except BackendUnavailable as exc:
        logger.warning(
            "litellm-semcache: Redis is not reachable yet (%s); requests go uncached until it is", exc
        )
    litellm.cache = Cache(
        type=LiteLLMCacheType.REDIS_SEMANTIC,  # makes LiteLLM keep the prompt out of its own cache key
        _backend=backend,
        ttl=settings.ttl_seconds,
        max_messages=None,  # conversations are handled by the context policy, not cut off by length
        supported_call_types=SUPPORTED_CALL_TYPES,  # type: ignore[arg-type]
    )
    _mount_metrics_route(backend)
    logger.info(
        "litellm-semcache: installed (index %s, threshold %.2f, scope %s, isolation %s)",
        settings.index_name,
        settings.similarity_threshold,
        settings.scope,
        settings.isolation,
    )
    return SemanticCachePlugin(backend)
