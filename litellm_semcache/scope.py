"""Step 3 of the request path: which stored entries may serve this request at all.

Entries are only compared by meaning inside one scope: same namespace, same tenant (per the isolation
setting), same model group when sharing is per group, same system prompt and earlier turns, same scoped
parameters and the same embedding model. The scope is one hash, stored as a TAG, so the vector search
filters on a single field. The prompt itself is never part of it: isolation must not cost semantic hits.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .request import ChatRequest, normalize_text
from .settings import SemCacheSettings

__all__ = ["Scope", "compute_scope", "exact_entry_id", "identity_hash", "request_metadata"]

_ANONYMOUS = "anonymous"


@dataclass(frozen=True)
class Scope:
    """Where a request's entries live. Every identity in it is already hashed."""

    key: str
    """Hash of everything below plus context and parameters: the TAG the vector search filters on."""
    namespace: str
    tenant: str
    model_group: str


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def identity_hash(kind: str, value: str) -> str:
    """Identities are stored hashed only: no raw API key or end-user id reaches Redis."""
    return f"{kind}:{_digest('semcache-identity', kind, value)[:24]}"


def request_metadata(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """The proxy's request metadata, wherever this LiteLLM version put it."""
    merged: dict[str, Any] = {}
    litellm_params = kwargs.get("litellm_params")
    sources = [kwargs.get("metadata"), kwargs.get("litellm_metadata")]
    if isinstance(litellm_params, Mapping):
        sources += [litellm_params.get("metadata"), litellm_params.get("litellm_metadata")]
    for source in reversed(sources):
        if isinstance(source, Mapping):
            merged.update({k: v for k, v in source.items() if v is not None})
    return merged


def _tenant(settings: SemCacheSettings, metadata: Mapping[str, Any], kwargs: Mapping[str, Any]) -> str:
    if settings.isolation == "none":
        return _ANONYMOUS
    key = metadata.get("user_api_key_hash") or metadata.get("user_api_key")
    key_tenant = identity_hash("key", str(key)) if key else _ANONYMOUS
    if settings.isolation == "key":
        return key_tenant
    if settings.isolation == "team":
        team = metadata.get("user_api_key_team_id")
        return identity_hash("team", str(team)) if team else key_tenant
    end_user = metadata.get("user_api_key_end_user_id") or kwargs.get("user")
    return identity_hash("end_user", str(end_user)) if end_user else key_tenant


def _model_group(metadata: Mapping[str, Any], kwargs: Mapping[str, Any]) -> str:
    group = metadata.get("model_group") or kwargs.get("model") or "unknown"
    return str(group)


def compute_scope(
    request: ChatRequest,
    settings: SemCacheSettings,
    kwargs: Mapping[str, Any],
    cache_controls: Mapping[str, Any] | None = None,
) -> Scope:
    """The scope of a parsed request; ``cache_controls`` is the request's ``cache`` field."""
    metadata = request_metadata(kwargs)
    controls = cache_controls or {}
    namespace = str(controls.get("namespace") or settings.namespace or "default")
    tenant = _tenant(settings, metadata, kwargs)
    model_group = _model_group(metadata, kwargs)
    shared_group = model_group if settings.scope == "model_group" else "*"
    material = json.dumps(
        [settings.embedding_model, namespace, tenant, shared_group, request.context, request.params],
        sort_keys=True,
        ensure_ascii=False,
        default=str,
    )
    return Scope(
        key=_digest("semcache-scope", material)[:32],
        namespace=namespace,
        tenant=tenant,
        model_group=model_group,
    )


def exact_entry_id(scope: Scope, query: str) -> str:
    """Entry id of a query in a scope: an exact repeat finds its entry without embedding."""
    return _digest("semcache-entry", scope.key, normalize_text(query))[:32]
