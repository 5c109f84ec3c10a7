"""Step 5 of the request path (and the end of the write path): entries in a Redis vector index.

A redisvl ``AsyncSearchIndex`` over hashes ``<index>:entry:<id>``, HNSW with cosine distance. The index
is created lazily on first use; an existing index with another schema is refused with a clear error.
Every Redis failure surfaces as :class:`BackendUnavailable` (mapped in one place, :func:`redis_errors`),
which the pipeline turns into a miss. A missing index (flushed or dropped while running) is recreated
once, and the call retried.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from typing import Any, TypeVar

import numpy as np
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError, ResponseError
from redisvl.exceptions import RedisSearchError, RedisVLError
from redisvl.index import AsyncSearchIndex
from redisvl.query.filter import FilterExpression, Num, Tag

from ..errors import BackendUnavailable, SchemaMismatchError
from .codec import (
    CANDIDATE_FIELDS,
    DISTANCE,
    ENTRY_FIELDS,
    Candidate,
    StoredEntry,
    decode_candidate,
    decode_entry,
    encode_entry,
    text,
)
from .schema import (
    Fields,
    compare_schemas,
    continuation_key,
    entry_prefix,
    health_key,
    index_schema,
    stats_key,
)

__all__ = ["RedisStore", "describe", "redis_errors"]

logger = logging.getLogger(__name__)

_T = TypeVar("_T")
_BACKEND_ERRORS = (RedisError, RedisVLError, OSError)


_PIPELINE_ANNOTATION = re.compile(r"^Command # ?\d+ \(.*\) of pipeline caused error: ", re.DOTALL)
_MAX_MESSAGE_CHARS = 160


def describe(exc: BaseException) -> str:
    """A Redis error as it may be logged: its kind and reason, never the command's arguments.

    redis-py puts a failed pipeline command's arguments in its message ("Command # 2 (HSET <key> query
    <the user's question> ...) of pipeline caused error: OOM ..."): prompts must not reach the logs.
    """
    message = _PIPELINE_ANNOTATION.sub("", str(exc)).strip().splitlines()[0] if str(exc).strip() else ""
    if isinstance(exc, ResponseError) and len(message) > _MAX_MESSAGE_CHARS:
        message = message[:_MAX_MESSAGE_CHARS] + "..."
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


@contextlib.contextmanager
def redis_errors() -> Iterator[None]:
    """Map every Redis failure to :class:`BackendUnavailable` (retryable: the request goes on uncached)."""
    try:
        yield
    except _BACKEND_ERRORS as exc:
        raise BackendUnavailable(f"redis: {describe(exc)}") from exc


def _search_rows(reply: Any) -> list[tuple[Any, dict[str, Any]]]:
    """(key, fields) of an FT.SEARCH reply, in RESP3 (a map; redis-py's default) or RESP2 (a flat list)."""
    if isinstance(reply, dict):
        results = reply.get(b"results", reply.get("results")) or []
        rows = []
        for result in results:
            key = result.get(b"id", result.get("id"))
            fields = result.get(b"extra_attributes", result.get("extra_attributes")) or {}
            rows.append((key, {text(name): value for name, value in fields.items()}))
        return rows
    return [
        (key, {text(name): value for name, value in zip(raw[::2], raw[1::2], strict=True)})
        for key, raw in zip(reply[1::2], reply[2::2], strict=True)
    ]


def _is_missing_index(exc: BaseException) -> bool:
    message = str(exc).lower()
    return "no such index" in message or "unknown index name" in message or "not found" in message


class _LoopState:
    """A Redis client and index bound to one event loop (redis.asyncio connections are loop-bound)."""

    def __init__(self, client: aioredis.Redis, index: AsyncSearchIndex) -> None:
        self.client = client
        self.index = index
        self.ready = False
        self.lock = asyncio.Lock()


class RedisStore:
    """Reads and writes entries; owns the index."""

    def __init__(
        self,
        redis_url: str,
        index_name: str,
        dims: int,
        *,
        datatype: str,
        timeout_seconds: float,
        hnsw_ef_runtime: int,
    ) -> None:
        self.redis_url = redis_url
        self.index_name = index_name
        self.dims = dims
        self.numpy_dtype: type[np.floating[Any]] = np.float16 if datatype == "float16" else np.float32
        self.datatype = datatype
        self.timeout_seconds = timeout_seconds
        self.schema = index_schema(index_name, dims, datatype=datatype, hnsw_ef_runtime=hnsw_ef_runtime)
        self.ef_runtime = hnsw_ef_runtime
        self.prefix = entry_prefix(index_name)
        self.stats_key = stats_key(index_name)
        self.health_key = health_key(index_name)
        self._states: dict[asyncio.AbstractEventLoop, _LoopState] = {}

    # --- connections --------------------------------------------------------------------------------
    def _state(self) -> _LoopState:
        loop = asyncio.get_running_loop()
        state = self._states.get(loop)
        if state is None:
            client = aioredis.from_url(
                self.redis_url,
                socket_timeout=self.timeout_seconds,
                socket_connect_timeout=self.timeout_seconds,
                # No client-side retries with backoff (redis-py's default waits seconds on a dead server):
                # a failed call is a miss, and the circuit breaker decides when to try again.
                retry=Retry(NoBackoff(), 0),
                health_check_interval=30,
            )
            index = AsyncSearchIndex(self.schema, redis_client=client)
            state = self._states[loop] = _LoopState(client, index)
            for stale in [lp for lp in self._states if lp.is_closed()]:
                del self._states[stale]
        return state

    def client(self) -> aioredis.Redis:
        """The Redis client of the running event loop (call it on that loop)."""
        return self._state().client

    def index(self) -> AsyncSearchIndex:
        """The redisvl index of the running event loop (for the admin queries)."""
        return self._state().index

    async def ensure_index(self, *, force_check: bool = False) -> None:
        """Create the index if it is missing; refuse one with a different schema.

        Raises:
            SchemaMismatchError: the existing index has another schema.
            BackendUnavailable: Redis cannot be reached.
        """
        state = self._state()
        if state.ready and not force_check:
            return
        async with state.lock:
            if state.ready and not force_check:
                return
            with redis_errors():
                await self._create_or_check(state)
            state.ready = True

    async def _create_or_check(self, state: _LoopState) -> None:
        if not await state.index.exists():
            try:
                await state.index.create(overwrite=False)
                logger.info("litellm-semcache: created index %s", self.index_name)
                return
            except RedisSearchError:
                if not await state.index.exists():  # a real failure, not another replica winning the race
                    raise
        existing = await AsyncSearchIndex.from_existing(self.index_name, redis_client=state.client)
        problems = compare_schemas(self.schema, existing.schema)
        if problems:
            raise SchemaMismatchError(
                f"Redis index {self.index_name!r} exists with a different schema ({'; '.join(problems)}). "
                "Set another `index_name`, or drop the old index with `litellm-semcache flush --drop-index`."
            )

    async def _call(self, operation: Callable[[], Awaitable[_T]]) -> _T:
        """Run an operation on the index; recreate a vanished index once and retry."""
        await self.ensure_index()
        with redis_errors():
            try:
                return await operation()
            except (ResponseError, RedisSearchError) as exc:
                if not _is_missing_index(exc):
                    raise
            logger.warning("litellm-semcache: index %s vanished; recreating it", self.index_name)
            self._state().ready = False
        await self.ensure_index()
        with redis_errors():
            return await operation()

    # --- keys ---------------------------------------------------------------------------------------
    def key(self, entry_id: str) -> str:
        """Redis key of an entry."""
        return f"{self.prefix}:{entry_id}"

    def entry_id(self, key: str | bytes) -> str:
        """Entry id of a Redis key."""
        return text(key).rsplit(":", 1)[-1]

    # --- continuations of Responses hits ---------------------------------------------------------------
    async def put_continuation(self, response_id: str, record: str, ttl_seconds: int) -> None:
        """Keep what a follow-up naming a cached response continues (see ``formats/responses.py``)."""
        with redis_errors():
            await self._state().client.set(
                continuation_key(self.index_name, response_id), record, ex=max(1, ttl_seconds)
            )

    async def get_continuation(self, response_id: str) -> str | None:
        """The record :meth:`put_continuation` kept, or None (unknown or expired)."""
        with redis_errors():
            value = await self._state().client.get(continuation_key(self.index_name, response_id))
        return text(value) if value is not None else None

    # --- reads --------------------------------------------------------------------------------------
    async def get(self, entry_id: str) -> StoredEntry | None:
        """The entry with this id, or None (absent or expired)."""
        with redis_errors():
            values = await self._state().client.hmget(self.key(entry_id), list(ENTRY_FIELDS))
        return decode_entry(entry_id, values)

    async def nearest(
        self,
        vector: np.ndarray[Any, Any],
        scope: str,
        k: int,
        *,
        min_created_at: float | None = None,
    ) -> list[Candidate]:
        """The k stored queries of a scope nearest to a vector, most similar first.

        A raw FT.SEARCH (the filter escaped by redisvl's filter expressions): it is on every lookup, and
        redisvl's query objects cost about 0.2 ms more per call.
        """
        filter_expression: FilterExpression = Tag(Fields.SCOPE) == scope
        if min_created_at is not None:
            filter_expression = filter_expression & (Num(Fields.CREATED_AT) >= min_created_at)
        command = (
            "FT.SEARCH", self.index_name,
            f"({filter_expression})=>[KNN {int(k)} @{Fields.EMBEDDING} $vector EF_RUNTIME {self.ef_runtime} "
            f"AS {DISTANCE}]",
            "PARAMS", 2, "vector", vector.astype(self.numpy_dtype).tobytes(),
            "SORTBY", DISTANCE, "ASC",
            "RETURN", len(CANDIDATE_FIELDS) + 1, DISTANCE, *CANDIDATE_FIELDS,
            "LIMIT", 0, int(k),
            "DIALECT", 2,
        )  # fmt: skip
        reply = await self._call(lambda: self._state().client.execute_command(*command))
        candidates = [decode_candidate(self.entry_id(key), row) for key, row in _search_rows(reply)]
        return sorted(candidates, key=lambda c: c.similarity, reverse=True)

    # --- writes -------------------------------------------------------------------------------------
    async def put(self, entry: StoredEntry, vector: np.ndarray[Any, Any] | None, ttl_seconds: int) -> None:
        """Store an entry with a TTL; with no vector it can only be found by its exact id."""
        mapping = encode_entry(entry, vector, self.numpy_dtype)
        key = self.key(entry.id)

        async def write() -> None:
            async with self._state().client.pipeline(transaction=True) as pipe:
                pipe.delete(key)  # an overwrite must not keep a stale vector
                pipe.hset(key, mapping=mapping)
                pipe.expire(key, ttl_seconds)
                await pipe.execute()

        await self._call(write)

    async def delete(self, entry_ids: Iterable[str]) -> int:
        """Delete entries by id; returns how many existed."""
        keys = [self.key(i) for i in entry_ids]
        if not keys:
            return 0
        return int(await self._call(lambda: self._state().client.delete(*keys)))

    async def count(self) -> int:
        """Entries currently indexed."""
        info: Mapping[str, Any] = await self._call(lambda: self._state().index.info())
        return int(info.get("num_docs", 0))

    async def drop_index(self, *, delete_entries: bool) -> None:
        """Drop the index (and, if asked, every entry under its prefix)."""
        state = self._state()
        with redis_errors():
            if await state.index.exists():
                await state.index.delete(drop=delete_entries)
        state.ready = False

    async def close(self) -> None:
        """Close the client of the running loop."""
        loop = asyncio.get_running_loop()
        state = self._states.pop(loop, None)
        if state is not None:
            await state.client.aclose()

    @staticmethod
    def now() -> float:
        """Wall-clock time as stored in ``created_at``."""
        return time.time()
