"""Install the cache into LiteLLM: the backend as ``litellm.cache``, the hooks and the routes.

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
from collections.abc import Callable, Coroutine
from typing import Any

import litellm
from litellm.caching.caching import Cache
from litellm.types.caching import LiteLLMCacheType

from ...errors import BackendUnavailable, ConfigError, SchemaMismatchError
from ...ops.embedded_redis import ensure_embedded_redis
from ...policies import check_policies
from ...settings import SemCacheSettings, load_settings
from .adapter import SemanticCacheBackend
from .hooks import SemanticCachePlugin
from .requests import SUPPORTED_CALL_TYPES
from .routes import mount_routes

__all__ = ["install", "proxy_config_path"]

logger = logging.getLogger("litellm_semcache")


def proxy_config_path() -> str | None:
    """The config file the running LiteLLM proxy was started with, if any."""
    try:
        from litellm.proxy import proxy_server
    except ImportError:  # the SDK without the proxy extra
        proxy_server = None  # type: ignore[assignment]
    path = getattr(proxy_server, "user_config_file_path", None) if proxy_server is not None else None
    return path or os.environ.get("CONFIG_FILE_PATH") or os.environ.get("SEMCACHE_CONFIG") or None


def _proxy_model_groups(config_path: str | None) -> list[str] | None:
    """The model groups of the proxy config's ``model_list`` (None: no config file to read)."""
    if not config_path:
        return None
    import yaml

    try:
        with open(config_path, encoding="utf-8") as handle:
            document = yaml.safe_load(handle) or {}
    except (OSError, yaml.YAMLError):
        return None  # load_settings already reported an unreadable file
    models = document.get("model_list") if isinstance(document, dict) else None
    if not isinstance(models, list):
        return None
    return [str(m["model_name"]) for m in models if isinstance(m, dict) and m.get("model_name")]


def _run_in_fresh_loop(coroutine_factory: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
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


async def _check_index(backend: SemanticCacheBackend) -> None:
    try:
        await backend.store.ensure_index()
    finally:
        await backend.store.close()


def install(
    settings: SemCacheSettings | None = None, *, config_path: str | None = None, **overrides: Any
) -> SemanticCachePlugin:
    """Install the semantic cache into LiteLLM (``litellm.cache``); returns the plugin.

    For the SDK without the proxy::

        import litellm, litellm_semcache
        litellm_semcache.install(redis_url="redis://localhost:6379", target_precision=0.98)
        litellm.completion(model="gpt-4o-mini", messages=[...])   # paraphrases now hit

    Raises:
        ConfigError: invalid settings, or no Redis and no embedded one allowed.
        SchemaMismatchError: the index exists with another schema.
        EmbeddedRedisError: the embedded Redis Stack was needed and did not start.
    """
    if settings is None:
        settings = load_settings(config_path, **overrides)
    elif overrides:
        settings = settings.with_overrides(**overrides)
    groups = _proxy_model_groups(config_path or proxy_config_path())
    if settings.policies and groups is not None:
        try:  # a policy naming a model group the proxy does not serve could never match: say so at start
            check_policies(settings.policies, groups)
        except ValueError as exc:
            raise ConfigError(f"invalid litellm-semcache settings: policies: {exc}") from exc
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
    mount_routes(backend)
    verification = backend.pipeline.verification
    logger.info(
        "litellm-semcache: installed (index %s, %s, scope %s, isolation %s)",
        settings.index_name,
        verification.describe(),
        settings.scope,
        settings.isolation,
    )
    return SemanticCachePlugin(backend)
