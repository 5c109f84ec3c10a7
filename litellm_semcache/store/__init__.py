"""Step 5: stored entries in a Redis vector index; the schema and the entry codec, as data."""

from __future__ import annotations

from .codec import Candidate, StoredEntry
from .redis_store import RedisStore, redis_errors
from .schema import Fields

__all__ = ["Candidate", "Fields", "RedisStore", "StoredEntry", "redis_errors"]
