"""Routes the plugin adds to the running proxy: ``/semcache/metrics``."""

from __future__ import annotations

from redis.exceptions import RedisError

from ...ops.admin import stats as admin_stats
from ...ops.metrics import prometheus_text
from .adapter import SemanticCacheBackend

__all__ = ["METRICS_PATH", "mount_routes"]

#: Where the running proxy serves the cache's counters in the Prometheus text format.
METRICS_PATH = "/semcache/metrics"


def mount_routes(backend: SemanticCacheBackend) -> None:
    """Serve the fleet-wide counters next to LiteLLM's own routes (only inside the proxy)."""
    try:
        from fastapi.responses import PlainTextResponse
        from litellm.proxy.proxy_server import app
    except ImportError:
        return
    if any(getattr(route, "path", None) == METRICS_PATH for route in app.routes):
        return

    async def semcache_metrics() -> PlainTextResponse:
        try:
            await backend.metrics.flush(backend.store.client())  # this process's latest counts
            snapshot = await admin_stats(backend.store)
        except (RedisError, OSError) as exc:
            return PlainTextResponse(f"litellm-semcache: Redis unavailable: {exc}\n", status_code=503)
        return PlainTextResponse(
            prometheus_text(snapshot, backend.settings.index_name), media_type="text/plain; version=0.0.4"
        )

    app.add_api_route(METRICS_PATH, semcache_metrics, methods=["GET"], include_in_schema=False)
