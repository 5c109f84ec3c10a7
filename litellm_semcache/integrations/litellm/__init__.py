"""The LiteLLM integration: everything that knows LiteLLM's kwargs, metadata, cache and proxy.

- ``install.py``: builds the pipeline, installs it as ``litellm.cache``, mounts the routes;
- ``adapter.py``: LiteLLM's ``BaseCache`` calls (and the sync bridge) onto the pipeline;
- ``hooks.py``: the pre-call hook and the ``x-semcache-*`` response headers;
- ``requests.py`` / ``controls.py``: call types, metadata keys and identity; the ``cache`` field;
- ``routes.py``: ``/semcache/metrics``; ``pricing.py``: savings from LiteLLM's price map.
"""

from __future__ import annotations

from .adapter import SemanticCacheBackend
from .hooks import SemanticCachePlugin
from .install import install, proxy_config_path

__all__ = ["SemanticCacheBackend", "SemanticCachePlugin", "install", "proxy_config_path"]
