"""Exceptions raised by litellm-semcache.

    SemCacheError
    ├── ConfigError            settings that cannot work (bad threshold, unreadable YAML block, ...)
    ├── SchemaMismatchError    an index of the same name exists with a different schema
    ├── BackendUnavailable     Redis or the embedder failed or timed out (retryable; request goes on uncached)
    └── EmbeddedRedisError     the local Redis Stack could not be started

On the request path every SemCacheError is caught by the backend and turns into a cache miss: the
proxy request never fails because of the cache.
"""

from __future__ import annotations

__all__ = [
    "BackendUnavailable",
    "ConfigError",
    "EmbeddedRedisError",
    "SchemaMismatchError",
    "SemCacheError",
]


class SemCacheError(Exception):
    """Root of every error this package raises."""


class ConfigError(SemCacheError, ValueError):
    """The settings cannot work."""


class SchemaMismatchError(SemCacheError):
    """An index with the configured name exists but was built with a different schema."""


class BackendUnavailable(SemCacheError):
    """Redis or the embedder failed or timed out. Retryable; the request continues uncached."""


class EmbeddedRedisError(SemCacheError):
    """The embedded Redis Stack server could not be started."""
