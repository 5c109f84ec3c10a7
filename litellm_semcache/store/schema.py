"""Redis key layout, field names and the index schema, in one place, built as data.

Every key the cache writes starts with ``<index_name>:`` so listing and flushing never touch other data
in the same Redis. Entries are hashes ``<index_name>:entry:<id>``; the index covers that prefix only.
"""

from __future__ import annotations

from typing import Any, Final

from redisvl.schema import IndexSchema

__all__ = [
    "HNSW_EF_CONSTRUCTION",
    "HNSW_M",
    "Fields",
    "compare_schemas",
    "continuation_key",
    "entry_prefix",
    "health_key",
    "index_schema",
    "stats_key",
]


class Fields:
    """Names of the hash fields of an entry."""

    QUERY: Final = "query"
    """The user's question as asked (TEXT, searchable by the admin commands)."""
    RESPONSE: Final = "response"
    """The full response as its API returned it, JSON (not indexed); FORMAT names the API."""
    ANSWER_ID: Final = "answer_id"
    """Hash of the normalized answer text (not indexed): tells equal answers apart from different ones."""
    COMPLETION_TOKENS: Final = "completion_tokens"
    """Length of the stored answer (not indexed): it cannot serve a request with a lower max_tokens."""
    MODEL: Final = "model"
    """The model that produced the answer (TAG)."""
    MODEL_GROUP: Final = "model_group"
    """The proxy model group it was asked through (TAG)."""
    NAMESPACE: Final = "namespace"
    TENANT: Final = "tenant"
    """Hashed identity of the tenant that owns the entry (TAG)."""
    SCOPE: Final = "scope"
    """Hash of everything that must match exactly (TAG); the vector search filters on it."""
    CREATED_AT: Final = "created_at"
    """Unix time of the store (NUMERIC): `s-maxage` filters on it."""
    ADMISSION: Final = "admission"
    """Fingerprint of the cacheability classifier and policy that admitted the entry (not indexed): an
    exact repeat is served without embedding only under the same one."""
    ANSWER_TEXT: Final = "answer_text"
    """The answer's text, format-neutral (not indexed): with the fields below it renders the answer in
    any API format. Absent on entries written before formats shared entries (their RESPONSE is a chat
    completion)."""
    FINISH: Final = "finish"
    """How the answer ended, format-neutral (``stop``, ``stop_sequence``, ``tool_calls``; not indexed)."""
    PROMPT_TOKENS: Final = "prompt_tokens"
    """Prompt tokens of the request that was answered (not indexed): what a hit saves, with
    COMPLETION_TOKENS."""
    FORMAT: Final = "format"
    """The API format RESPONSE is in (``chat``, ``anthropic_messages``, ``responses``, ...; not indexed)."""
    EMBEDDING: Final = "embedding"
    """The normalized query vector (VECTOR, HNSW, cosine). Absent on queries too long to embed."""


def entry_prefix(index_name: str) -> str:
    """Key prefix of the entries: ``<index_name>:entry``."""
    return f"{index_name}:entry"


def stats_key(index_name: str) -> str:
    """Hash of the shared counters."""
    return f"{index_name}:stats"


def health_key(index_name: str) -> str:
    """Hash of the problems each process reports (one field per process)."""
    return f"{index_name}:health"


def continuation_key(index_name: str, response_id: str) -> str:
    """What a follow-up to a Responses hit built from another API's answer continues (JSON, with a TTL):
    ``<index_name>:continuation:<response id>``."""
    return f"{index_name}:continuation:{response_id}"


#: HNSW graph degree and build-time candidate list: fixed, they decide the index's shape and memory.
HNSW_M = 16
HNSW_EF_CONSTRUCTION = 200


def index_schema(
    index_name: str,
    dims: int,
    *,
    datatype: str,
    hnsw_ef_runtime: int,
    hnsw_m: int = HNSW_M,
    hnsw_ef_construction: int = HNSW_EF_CONSTRUCTION,
) -> IndexSchema:
    """The RediSearch schema of the entry hashes (``datatype`` and ``hnsw_ef_runtime`` from the settings)."""
    return IndexSchema.from_dict(
        {
            "index": {"name": index_name, "prefix": entry_prefix(index_name), "storage_type": "hash"},
            "fields": [
                {"name": Fields.QUERY, "type": "text"},
                {"name": Fields.MODEL, "type": "tag"},
                {"name": Fields.MODEL_GROUP, "type": "tag"},
                {"name": Fields.NAMESPACE, "type": "tag"},
                {"name": Fields.TENANT, "type": "tag"},
                {"name": Fields.SCOPE, "type": "tag"},
                {"name": Fields.CREATED_AT, "type": "numeric", "attrs": {"sortable": True}},
                {
                    "name": Fields.EMBEDDING,
                    "type": "vector",
                    "attrs": {
                        "dims": dims,
                        "algorithm": "hnsw",
                        "distance_metric": "cosine",
                        "datatype": datatype,
                        "m": hnsw_m,
                        "ef_construction": hnsw_ef_construction,
                        "ef_runtime": hnsw_ef_runtime,
                    },
                },
            ],
        }
    )


def _essentials(schema: IndexSchema) -> dict[str, Any]:
    """What must agree for entries to be read and written safely; tuning knobs are left out."""
    fields: dict[str, Any] = {}
    for name, field in schema.fields.items():
        entry: dict[str, Any] = {"type": str(field.type).lower().split(".")[-1]}
        if entry["type"] == "vector":
            attrs = field.attrs
            entry.update(
                dims=int(attrs.dims),
                algorithm=str(attrs.algorithm).lower().split(".")[-1],
                distance=str(attrs.distance_metric).lower().split(".")[-1],
                datatype=str(attrs.datatype).lower().split(".")[-1],
            )
        fields[name] = entry
    return {
        "prefixes": sorted(
            schema.index.prefix if isinstance(schema.index.prefix, list) else [schema.index.prefix]
        ),
        "storage": str(schema.index.storage_type).lower().split(".")[-1],
        "fields": fields,
    }


def compare_schemas(expected: IndexSchema, existing: IndexSchema) -> list[str]:
    """Differences that make an existing index unusable; empty when it is compatible."""
    want, have = _essentials(expected), _essentials(existing)
    problems = []
    if want["prefixes"] != have["prefixes"]:
        problems.append(f"key prefixes {have['prefixes']} != {want['prefixes']}")
    if want["storage"] != have["storage"]:
        problems.append(f"storage {have['storage']} != {want['storage']}")
    for name, spec in want["fields"].items():
        if name not in have["fields"]:
            problems.append(f"field {name!r} missing")
        elif have["fields"][name] != spec:
            problems.append(f"field {name!r} is {have['fields'][name]}, expected {spec}")
    return problems
