"""Step 3 of the request path: which stored entries may serve this request at all.

Entries are only compared by meaning inside one scope: same namespace, same tenant (per the isolation
setting), same model group when sharing is per group, same system prompt and earlier turns, same scoped
parameters and the same embedding model. The scope is one hash, stored as a TAG, so the vector search
filters on a single field. The prompt itself is never part of it: isolation must not cost semantic hits.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from .policies import DEFAULT_POLICY
from .settings import SemCacheSettings
from .text import exact_text
from .types import Identity, Request

__all__ = ["Scope", "compute_scope", "exact_entry_id", "identity_hash", "tenant_of"]

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


def tenant_of(identity: Identity, settings: SemCacheSettings) -> str:
    """The hashed tenant an identity belongs to under the isolation setting."""
    if settings.isolation == "none":
        return _ANONYMOUS
    key_tenant = identity_hash("key", identity.key) if identity.key else _ANONYMOUS
    if settings.isolation == "key":
        return key_tenant
    team_tenant = identity_hash("team", identity.team) if identity.team else key_tenant
    if settings.isolation == "team":
        return team_tenant
    if not identity.end_user:
        return key_tenant
    # The end-user id is chosen by the client (the `user` field): alone it would let any key read the
    # entries of "alice". The tenant is the end user *within* the key's team (or the key).
    return identity_hash("end_user", f"{team_tenant}\x1f{identity.end_user}")


def compute_scope(request: Request, settings: SemCacheSettings, policy: str = DEFAULT_POLICY) -> Scope:
    """The scope of a request; ``settings`` are its policy's (``policy`` names it)."""
    namespace = request.controls.namespace or settings.namespace or "default"
    tenant = tenant_of(request.identity, settings)
    model_group = request.identity.model_group
    shared_group = model_group if settings.scope == "model_group" else "*"
    material = json.dumps(
        [
            settings.embedding_model,
            namespace,
            tenant,
            shared_group,
            request.parsed.context,
            request.parsed.params,
        ]
        # Entries are kept per policy; the default policy adds nothing (its entries predate policies).
        + ([] if policy == DEFAULT_POLICY else [f"policy:{policy}"]),
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
    return _digest("semcache-entry", scope.key, exact_text(query))[:32]
