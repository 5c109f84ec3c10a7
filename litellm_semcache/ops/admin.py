"""Operations on the stored entries: list, search, delete, flush, warm, stats.

Everything here touches only the cache's own keys (``<index_name>:*``), never the rest of the Redis.
Used by the ``litellm-semcache`` command line.
"""

from __future__ import annotations

import csv
import json
import time
import uuid
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from redisvl.query import FilterQuery, VectorQuery
from redisvl.query.filter import FilterExpression, Num, Tag, Text

from ..embedding import Embedder
from ..errors import ConfigError
from ..formats import get_format
from ..pipeline import Pipeline, Prepared
from ..store import Fields, RedisStore
from ..store.codec import text
from ..types import Controls, Identity
from .snapshot import Snapshot

__all__ = [
    "EntryFilter",
    "EntryRow",
    "delete_where",
    "flush",
    "list_entries",
    "read_qa_pairs",
    "search",
    "stats",
    "warm",
]

_ROW_FIELDS = [Fields.QUERY, Fields.MODEL, Fields.MODEL_GROUP, Fields.NAMESPACE, Fields.CREATED_AT]


@dataclass(frozen=True)
class EntryFilter:
    """Which entries an admin command applies to; every set field must match."""

    model: str | None = None
    namespace: str | None = None
    older_than_seconds: float | None = None
    newer_than_seconds: float | None = None
    text: str | None = None

    def expression(self, now: float) -> FilterExpression | None:
        parts: list[FilterExpression] = []
        if self.model:
            parts.append(Tag(Fields.MODEL) == self.model)
        if self.namespace:
            parts.append(Tag(Fields.NAMESPACE) == self.namespace)
        if self.older_than_seconds is not None:
            parts.append(Num(Fields.CREATED_AT) <= now - self.older_than_seconds)
        if self.newer_than_seconds is not None:
            parts.append(Num(Fields.CREATED_AT) >= now - self.newer_than_seconds)
        if self.text:
            parts.append(Text(Fields.QUERY) % self.text)
        if not parts:
            return None
        expression = parts[0]
        for part in parts[1:]:
            expression = expression & part
        return expression

    @property
    def empty(self) -> bool:
        return self.expression(0.0) is None


@dataclass(frozen=True)
class EntryRow:
    """One entry as the admin commands show it."""

    id: str
    query: str
    model: str
    model_group: str
    namespace: str
    created_at: float
    similarity: float | None = None

    def as_dict(self) -> dict[str, Any]:
        row = {
            "id": self.id,
            "query": self.query,
            "model": self.model,
            "model_group": self.model_group,
            "namespace": self.namespace,
            "created_at": self.created_at,
            "age_seconds": round(time.time() - self.created_at, 1),
        }
        if self.similarity is not None:
            row["similarity"] = round(self.similarity, 4)
        return row


def _row(store: RedisStore, raw: dict[str, Any], similarity: float | None = None) -> EntryRow:
    return EntryRow(
        id=store.entry_id(raw["id"]),
        query=text(raw.get(Fields.QUERY)),
        model=text(raw.get(Fields.MODEL)),
        model_group=text(raw.get(Fields.MODEL_GROUP)),
        namespace=text(raw.get(Fields.NAMESPACE)),
        created_at=float(text(raw.get(Fields.CREATED_AT)) or 0),
        similarity=similarity,
    )


async def _filtered(store: RedisStore, where: EntryFilter, page: int = 500) -> AsyncIterator[list[EntryRow]]:
    await store.ensure_index()
    expression = where.expression(time.time()) or "*"
    query = FilterQuery(filter_expression=expression, return_fields=_ROW_FIELDS, num_results=page)
    index = store.index()
    async for batch in index.paginate(query, page_size=page):
        yield [_row(store, raw) for raw in batch]


async def list_entries(store: RedisStore, where: EntryFilter, limit: int = 50) -> list[EntryRow]:
    """The newest entries matching a filter."""
    await store.ensure_index()
    query = FilterQuery(
        filter_expression=where.expression(time.time()) or "*", return_fields=_ROW_FIELDS, num_results=limit
    )
    query.sort_by(Fields.CREATED_AT, asc=False)
    rows = await store.index().query(query)
    return [_row(store, raw) for raw in rows]


async def search(store: RedisStore, embedder: Embedder, question: str, k: int = 10) -> list[EntryRow]:
    """Entries nearest in meaning to a text, across every scope (tenants, namespaces, contexts)."""
    await store.ensure_index()
    embedding = embedder.encode_batch([question])[0]
    if embedding.vector is None:
        raise ConfigError("the text is longer than the embedding model reads; use `list --match` instead")
    query = VectorQuery(
        vector=embedding.vector.astype(store.numpy_dtype).tobytes(),
        vector_field_name=Fields.EMBEDDING,
        return_fields=_ROW_FIELDS,
        num_results=k,
        dtype=store.datatype,
    )
    rows = await store.index().query(query)
    return [_row(store, raw, 1.0 - float(raw["vector_distance"])) for raw in rows]


async def delete_where(store: RedisStore, where: EntryFilter) -> int:
    """Delete every entry matching a non-empty filter; returns how many."""
    if where.empty:
        raise ConfigError("refusing to delete with an empty filter; use `flush` to empty the cache")
    ids: list[str] = []
    async for batch in _filtered(store, where):
        ids.extend(row.id for row in batch)
    deleted = 0
    for start in range(0, len(ids), 500):
        deleted += await store.delete(ids[start : start + 500])
    return deleted


async def flush(store: RedisStore, *, drop_index: bool = False) -> int:
    """Delete the cache's own keys (entries and stats); other data in the Redis is untouched."""
    client = store.client()
    deleted = 0
    batch: list[Any] = []
    async for key in client.scan_iter(match=f"{store.index_name}:*", count=1000):
        batch.append(key)
        if len(batch) >= 1000:
            deleted += await client.delete(*batch)
            batch = []
    if batch:
        deleted += await client.delete(*batch)
    if drop_index:
        await store.drop_index(delete_entries=False)
    return int(deleted)


async def stats(store: RedisStore) -> Snapshot:
    """The fleet-wide counters, and the problems processes report now."""
    client = store.client()
    return Snapshot.from_hash(await client.hgetall(store.stats_key), await client.hgetall(store.health_key))


def read_qa_pairs(path: Path) -> Iterator[tuple[str, str]]:
    """Question/answer pairs from a CSV (`question,answer` header) or JSONL (`{"question", "answer"}`) file.

    Raises:
        ConfigError: the file has no question/answer columns or a row misses one.
    """
    with open(path, encoding="utf-8") as handle:
        if path.suffix.lower() in (".jsonl", ".ndjson"):
            rows: Iterable[dict[str, Any]] = (json.loads(line) for line in handle if line.strip())
        else:
            rows = csv.DictReader(handle)
        for number, row in enumerate(rows, start=1):
            question, answer = (row.get("question") or "").strip(), (row.get("answer") or "").strip()
            if not question or not answer:
                raise ConfigError(f"{path}: row {number} needs a non-empty `question` and `answer`")
            yield question, answer


def _completion(answer: str, model: str) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-semcache-warm-{uuid.uuid4().hex[:12]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": answer}}
        ],
        "usage": {
            "prompt_tokens": 0,
            "completion_tokens": len(answer.split()),
            "total_tokens": len(answer.split()),
        },
    }


async def warm(
    pipeline: Pipeline,
    pairs: Iterable[tuple[str, str]],
    *,
    model: str = "faq",
    model_group: str | None = None,
    namespace: str | None = None,
    system_prompt: str | None = None,
    identity: Identity | None = None,
    ttl_seconds: int | None = None,
) -> int:
    """Store question/answer pairs as if the model had answered them, in the scope a request would have.

    ``identity`` names the tenant whose requests should hit, under the configured isolation (its
    ``model_group`` is replaced by ``model_group`` or ``model``).
    """
    chat = get_format("chat")
    who = replace(identity or Identity(), model_group=model_group or model)
    controls = Controls(namespace=namespace, ttl_seconds=ttl_seconds)
    stored = 0
    for question, answer in pairs:
        messages = ([{"role": "system", "content": system_prompt}] if system_prompt else []) + [
            {"role": "user", "content": question}
        ]
        prepared = pipeline.prepare(
            chat, {"model": who.model_group, "messages": messages}, identity=who, controls=controls
        )
        if not isinstance(prepared, Prepared):
            continue
        entry_id = await pipeline.store(
            prepared, chat.read_answer(_completion(answer, model), pipeline.settings)
        )
        stored += entry_id is not None
    return stored
