"""Routes the plugin adds to the running proxy: ``/semcache/metrics``, a ``/cache/ping`` that pings, and
``POST /semcache/feedback`` / ``DELETE /semcache/entries/{id}`` (``feedback.py``).

LiteLLM's own ``/cache/ping`` answers "healthy" for any cache type but plain Redis without touching it;
the plugin's route, registered ahead of it, pings the cache's Redis and checks its index.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from redis.exceptions import RedisError

from ...errors import SemCacheError
from ...ops.admin import stats as admin_stats
from ...ops.prometheus import prometheus_text
from ...store.redis_store import describe
from .adapter import SemanticCacheBackend
from .feedback import DELETE_PATH, FEEDBACK_PATH, feedback_routes

__all__ = ["DELETE_PATH", "FEEDBACK_PATH", "METRICS_PATH", "PING_PATH", "mount_routes"]

logger = logging.getLogger("litellm_semcache")

#: Where the running proxy serves the cache's counters in the Prometheus text format.
METRICS_PATH = "/semcache/metrics"
#: LiteLLM's cache health route, answered by the plugin.
PING_PATH = "/cache/ping"


def _metrics_route(backend: SemanticCacheBackend) -> Any:
    from fastapi.responses import PlainTextResponse

    async def semcache_metrics() -> PlainTextResponse:
        try:
            await backend.metrics.flush(backend.store.client())  # this process's latest counts
            snapshot = await admin_stats(backend.store)
        except (SemCacheError, RedisError, OSError) as exc:  # an unauthenticated route: say little
            logger.warning("litellm-semcache: /semcache/metrics: Redis unavailable (%s)", describe(exc))
            return PlainTextResponse("litellm-semcache: the cache's Redis is unavailable\n", status_code=503)
        return PlainTextResponse(
            prometheus_text(snapshot, backend.settings.index_name), media_type="text/plain; version=0.0.4"
        )

    return semcache_metrics


def _ping_route(backend: SemanticCacheBackend) -> Any:
    from fastapi.responses import JSONResponse

    timeout = max(backend.settings.redis_timeout_seconds * 4, 1.0)

    async def cache_ping() -> JSONResponse:
        try:
            await asyncio.wait_for(backend.ping(), timeout)
            await asyncio.wait_for(backend.store.ensure_index(force_check=True), timeout)
            entries = await asyncio.wait_for(backend.store.count(), timeout)
        except Exception as exc:  # any failure is "unhealthy"
            logger.warning("litellm-semcache: /cache/ping failed (%s)", describe(exc))
            return JSONResponse(
                {
                    "status": "unhealthy",
                    "cache_type": "litellm-semcache",
                    "message": "the cache's Redis does not answer or its index is unusable",
                },
                status_code=503,
            )
        return JSONResponse(
            {
                "status": "healthy",
                "cache_type": "litellm-semcache",
                "ping_response": True,
                "index": backend.settings.index_name,
                "entries": entries,
            }
        )

    return cache_ping


def mount_routes(backend: SemanticCacheBackend) -> None:
    """Serve the counters and the health check next to LiteLLM's own routes (only inside the proxy)."""
    try:
        from fastapi import Depends
        from fastapi.routing import APIRoute
        from litellm.proxy.auth.user_api_key_auth import user_api_key_auth
        from litellm.proxy.proxy_server import app
    except ImportError:
        return
    if any(getattr(route, "path", None) == METRICS_PATH for route in app.routes):
        return
    # Like LiteLLM's own /metrics, the counters need no key (put them behind your network policy).
    app.add_api_route(METRICS_PATH, _metrics_route(backend), methods=["GET"], include_in_schema=False)
    ping = APIRoute(
        PING_PATH,
        _ping_route(backend),
        methods=["GET"],
        dependencies=[Depends(user_api_key_auth)],
        include_in_schema=False,
    )
    app.router.routes.insert(0, ping)  # ahead of LiteLLM's route of the same path
    # Authenticated inside the handlers (LiteLLM's key check, its failures answered 401/403 there).
    feedback, delete_entry = feedback_routes(backend)
    app.add_api_route(FEEDBACK_PATH, feedback, methods=["POST"], include_in_schema=False)
    app.add_api_route(DELETE_PATH, delete_entry, methods=["DELETE"], include_in_schema=False)
