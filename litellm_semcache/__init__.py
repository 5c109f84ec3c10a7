"""litellm-semcache: a semantic cache for LLM APIs behind the LiteLLM gateway.

In ``litellm_config.yaml``::

    litellm_settings:
      callbacks: ["litellm_semcache.semantic_cache"]

Reading ``litellm_semcache.semantic_cache`` builds and installs the cache from the proxy's config file
(the ``litellm_semcache:`` block) and the environment; importing the package alone does nothing.
The pipeline itself (:class:`Pipeline`) knows no LiteLLM: ``integrations/litellm`` adapts it.
"""

from __future__ import annotations

import importlib
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
from .types import Answer, Controls, Identity, Outcome, Refusal, Request

if TYPE_CHECKING:
    from .integrations.litellm import SemanticCacheBackend, SemanticCachePlugin
    from .pipeline import Pipeline, Prepared

__all__ = [
    "Answer",
    "BackendUnavailable",
    "ConfigError",
    "Controls",
    "EmbeddedRedisError",
    "Identity",
    "Outcome",
    "Pipeline",
    "Prepared",
    "Refusal",
    "Request",
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

#: Names imported on first use, so importing the package stays cheap (no LiteLLM, Redis or model).
_LAZY = {
    "Pipeline": ".pipeline",
    "Prepared": ".pipeline",
    "SemanticCacheBackend": ".integrations.litellm",
    "SemanticCachePlugin": ".integrations.litellm",
}

_installed: SemanticCachePlugin | None = None
_install_lock = threading.Lock()


def install(*args: Any, **kwargs: Any) -> SemanticCachePlugin:
    """Install the semantic cache into LiteLLM; see :func:`litellm_semcache.integrations.litellm.install`."""
    from .integrations.litellm import install as _install

    return _install(*args, **kwargs)


def __getattr__(name: str) -> Any:
    global _installed
    if name == "semantic_cache":
        # The proxy reads this attribute when it loads `litellm_settings.callbacks`.
        with _install_lock:
            if _installed is None:
                from .integrations.litellm import install as _install
                from .integrations.litellm import proxy_config_path

                _installed = _install(config_path=proxy_config_path())
        return _installed
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module 'litellm_semcache' has no attribute {name!r}")
