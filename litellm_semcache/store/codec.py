"""Entries and the Redis hashes that hold them: the one place their fields are written and read."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from redis.typing import EncodableT, FieldT

from ..types import Answer, Finish
from .schema import Fields

__all__ = [
    "CANDIDATE_FIELDS",
    "DISTANCE",
    "ENTRY_FIELDS",
    "Candidate",
    "StoredEntry",
    "decode_candidate",
    "decode_entry",
    "encode_entry",
    "optional_int",
    "text",
]

#: Every field of an entry except its vector, in the order :func:`decode_entry` reads them.
ENTRY_FIELDS: tuple[str, ...] = (
    Fields.QUERY,
    Fields.RESPONSE,
    Fields.ANSWER_ID,
    Fields.COMPLETION_TOKENS,
    Fields.MODEL,
    Fields.MODEL_GROUP,
    Fields.NAMESPACE,
    Fields.TENANT,
    Fields.SCOPE,
    Fields.CREATED_AT,
    Fields.ADMISSION,
    Fields.ANSWER_TEXT,
    Fields.FINISH,
    Fields.PROMPT_TOKENS,
    Fields.FORMAT,
)
#: What the vector search returns per candidate.
CANDIDATE_FIELDS: tuple[str, ...] = (
    Fields.QUERY,
    Fields.ANSWER_ID,
    Fields.CREATED_AT,
    Fields.COMPLETION_TOKENS,
)
#: Name of the KNN distance in search replies.
DISTANCE = "vector_distance"


@dataclass(frozen=True)
class StoredEntry:
    """One cached answer."""

    id: str
    query: str
    response: str
    """The answer as the API returned it (JSON)."""
    answer_id: str
    model: str
    model_group: str
    namespace: str
    tenant: str
    scope: str
    created_at: float
    completion_tokens: int | None = None
    admission: str = ""
    """Fingerprint of the classifier and policy that admitted it ("" for entries stored before)."""
    answer_text: str | None = None
    """The answer's text, format-neutral; None on entries written before formats shared entries."""
    finish: Finish | None = None
    prompt_tokens: int | None = None
    format: str | None = None
    """The API format ``response`` is in; None means chat completions (older entries)."""

    def answer(self) -> Answer | None:
        """The stored answer, format-neutral; None for older entries (their ``response`` is a chat
        completion, which the chat format reads)."""
        if self.answer_text is None:
            return None
        return Answer(
            text=self.answer_text,
            model=self.model,
            completion_tokens=self.completion_tokens,
            native=self.response,
            answer_id=self.answer_id,
            prompt_tokens=self.prompt_tokens,
            finish=self.finish or "stop",
            format=self.format or "chat",
            created_at=self.created_at,
        )

    @property
    def usage_json(self) -> str:
        """What a hit saved, for the pricer: the neutral token counts as a chat ``usage`` when the entry
        has them, else the stored response (whose ``usage`` the pricer reads)."""
        if self.answer_text is None:
            return self.response
        usage = {"prompt_tokens": self.prompt_tokens or 0, "completion_tokens": self.completion_tokens or 0}
        return json.dumps({"usage": usage})


@dataclass(frozen=True)
class Candidate:
    """A stored query near the asked one, as the vector search returns it."""

    id: str
    query: str
    similarity: float
    answer_id: str
    created_at: float
    completion_tokens: int | None = None


def text(value: object) -> str:
    """A hash value as text (Redis replies are bytes)."""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return "" if value is None else str(value)


def optional_int(value: object) -> int | None:
    """An integer field, or None when absent."""
    raw = text(value)
    return int(raw) if raw.lstrip("-").isdigit() else None


def encode_entry(
    entry: StoredEntry, vector: np.ndarray[Any, Any] | None, dtype: type[np.floating[Any]]
) -> dict[FieldT, EncodableT]:
    """The hash fields of an entry; with no vector it can only be found by its exact id."""
    mapping: dict[FieldT, EncodableT] = {
        Fields.QUERY: entry.query,
        Fields.RESPONSE: entry.response,
        Fields.ANSWER_ID: entry.answer_id,
        Fields.MODEL: entry.model,
        Fields.MODEL_GROUP: entry.model_group,
        Fields.NAMESPACE: entry.namespace,
        Fields.TENANT: entry.tenant,
        Fields.SCOPE: entry.scope,
        Fields.CREATED_AT: repr(entry.created_at),
        Fields.ADMISSION: entry.admission,
    }
    if entry.completion_tokens is not None:
        mapping[Fields.COMPLETION_TOKENS] = str(entry.completion_tokens)
    if entry.answer_text is not None:
        mapping[Fields.ANSWER_TEXT] = entry.answer_text
        mapping[Fields.FINISH] = entry.finish or "stop"
        mapping[Fields.FORMAT] = entry.format or "chat"
    if entry.prompt_tokens is not None:
        mapping[Fields.PROMPT_TOKENS] = str(entry.prompt_tokens)
    if vector is not None:
        mapping[Fields.EMBEDDING] = vector.astype(dtype).tobytes()
    return mapping


def decode_entry(entry_id: str, values: list[Any]) -> StoredEntry | None:
    """An entry from the values of :data:`ENTRY_FIELDS`; None when it is gone."""
    record = dict(zip(ENTRY_FIELDS, values, strict=False))
    if record[Fields.RESPONSE] is None:
        return None
    return StoredEntry(
        id=entry_id,
        query=text(record[Fields.QUERY]),
        response=text(record[Fields.RESPONSE]),
        answer_id=text(record[Fields.ANSWER_ID]),
        model=text(record[Fields.MODEL]),
        model_group=text(record[Fields.MODEL_GROUP]),
        namespace=text(record[Fields.NAMESPACE]),
        tenant=text(record[Fields.TENANT]),
        scope=text(record[Fields.SCOPE]),
        created_at=float(text(record[Fields.CREATED_AT]) or 0.0),
        completion_tokens=optional_int(record[Fields.COMPLETION_TOKENS]),
        admission=text(record[Fields.ADMISSION]),
        answer_text=text(record[Fields.ANSWER_TEXT]) if record.get(Fields.ANSWER_TEXT) is not None else None,
        finish=_finish(record.get(Fields.FINISH)),
        prompt_tokens=optional_int(record.get(Fields.PROMPT_TOKENS)),
        format=text(record[Fields.FORMAT]) if record.get(Fields.FORMAT) is not None else None,
    )


_FINISHES: dict[str, Finish] = {"stop": "stop", "stop_sequence": "stop_sequence", "tool_calls": "tool_calls"}


def _finish(value: object) -> Finish | None:
    return _FINISHES.get(text(value))


def decode_candidate(entry_id: str, row: Mapping[str, Any]) -> Candidate:
    """A search result row (:data:`CANDIDATE_FIELDS` and the distance) as a candidate."""
    return Candidate(
        id=entry_id,
        query=text(row.get(Fields.QUERY)),
        similarity=1.0 - float(text(row[DISTANCE])),
        answer_id=text(row.get(Fields.ANSWER_ID)),
        created_at=float(text(row.get(Fields.CREATED_AT)) or 0.0),
        completion_tokens=optional_int(row.get(Fields.COMPLETION_TOKENS)),
    )
