"""litellm-semcache: a semantic cache for LLM APIs behind the LiteLLM proxy.

In ``litellm_config.yaml``::

    litellm_settings:
      callbacks: ["litellm_semcache.semantic_cache"]

Reading ``litellm_semcache.semantic_cache`` builds and installs the cache from the proxy's config file
(the ``litellm_semcache:`` block) and the environment; importing the package alone does nothing.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from .errors import (
    BackendUnavailable,
    ConfigError,
    EmbeddedRedisError,
    SchemaMismatchError,
    SemCacheError,
)
from .settings import SemCacheSettings, load_settings

if TYPE_CHECKING:
    from .backend import SemanticCacheBackend
    from .plugin import SemanticCachePlugin

__all__ = [
    "BackendUnavailable",
    "ConfigError",
    "EmbeddedRedisError",
    "SchemaMismatchError",
    "SemCacheError",
    "SemCacheSettings",
    "SemanticCacheBackend",
    "SemanticCachePlugin",
    "install",
    "load_settings",
    "semantic_cache",
]

__version__ = "0.1.0"

_installed: SemanticCachePlugin | None = None
_install_lock = threading.Lock()


def install(*args: Any, **kwargs: Any) -> SemanticCachePlugin:
    """Install the semantic cache into LiteLLM; see :func:`litellm_semcache.plugin.install`."""
    from .plugin import install as _install

    return _install(*args, **kwargs)


def __getattr__(name: str) -> Any:
    global _installed
    if name == "semantic_cache":
        # The proxy reads this attribute when it loads `litellm_settings.callbacks`.
        with _install_lock:
            if _installed is None:
                from .plugin import install as _install
                from .plugin import proxy_config_path

                _installed = _install(config_path=proxy_config_path())
        return _installed
    if name in ("SemanticCacheBackend", "SemanticCachePlugin"):
        from . import backend, plugin

        return getattr(backend if name == "SemanticCacheBackend" else plugin, name)
    raise AttributeError(f"module 'litellm_semcache' has no attribute {name!r}")
