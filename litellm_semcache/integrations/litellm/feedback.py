"""``POST /semcache/feedback`` and ``DELETE /semcache/entries/{id}``: remove a wrong answer from an app.

An app passes back the ``x-semcache-entry-id`` of a hit its user marked wrong (a thumbs-down):

    POST /semcache/feedback {"entry_id": "<x-semcache-entry-id>", "correct": false}
    DELETE /semcache/entries/<x-semcache-entry-id>

Authenticated with LiteLLM's own keys: the proxy admin (master key), or a key of the tenant the entry
belongs to, i.e. the key that received the hit (under ``isolation: team``, any key of its team; under
``end_user``, the same key or team with the same ``user``, sent as ``"user"`` in the body or as the
``user`` query parameter). LiteLLM's key check runs inside the route, so a missing or unknown key is a
401 whatever LiteLLM would answer without a database (a 500 for a missing key, a 400 "No connected db"
for an unknown one); a key of another tenant is a 403; an unknown entry a 404.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from fastapi import HTTPException, Request  # at module level: FastAPI resolves the handlers' annotations
from fastapi.responses import JSONResponse

from ...errors import SemCacheError
from ...scope import tenant_of
from ...types import Identity
from .adapter import SemanticCacheBackend

__all__ = ["DELETE_PATH", "FEEDBACK_PATH", "feedback_routes"]

logger = logging.getLogger("litellm_semcache")

#: Where an app reports a served answer as wrong (or right).
FEEDBACK_PATH = "/semcache/feedback"
#: Where an app or an operator deletes one entry.
DELETE_PATH = "/semcache/entries/{entry_id}"

_ENTRY_ID = re.compile(r"^[0-9a-f]{32}$")
_KEY_HEADERS = ("authorization", "x-litellm-api-key", "api-key", "x-api-key")


def _presented_key(headers: Mapping[str, str]) -> str | None:
    """The key the caller sent, as LiteLLM's auth expects it (``Bearer <key>``); None without one."""
    for name in _KEY_HEADERS:
        value = headers.get(name)
        if value and value.strip():
            value = value.strip()
            return value if value.lower().startswith("bearer ") else f"Bearer {value}"
    return None


async def _authenticate(request: Request) -> Any:
    """LiteLLM's ``UserAPIKeyAuth`` for the caller.

    Raises:
        fastapi.HTTPException: 401 for a missing or unknown key, 403 when LiteLLM refuses the key.
    """
    from litellm.proxy.auth.user_api_key_auth import user_api_key_auth

    api_key = _presented_key(request.headers)
    if api_key is None or api_key.strip().lower() == "bearer":
        raise HTTPException(status_code=401, detail="a LiteLLM key is required (Authorization: Bearer <key>)")
    try:
        return await user_api_key_auth(
            request=request,
            api_key=api_key,
            azure_api_key_header=None,
            anthropic_api_key_header=None,
            google_ai_studio_api_key_header=None,
            azure_apim_header=None,
            custom_litellm_key_header=None,
        )
    except Exception as exc:  # LiteLLM's ProxyException, HTTPException, or a DB-less failure
        code = getattr(exc, "status_code", None) or getattr(exc, "code", None)
        if str(code) == "403":
            raise HTTPException(status_code=403, detail="this key may not use the cache's routes") from None
        raise HTTPException(status_code=401, detail="invalid or unknown key") from None


def _is_admin(auth: Any) -> bool:
    from litellm.proxy._types import LitellmUserRoles

    role = getattr(auth, "user_role", None)
    return role == LitellmUserRoles.PROXY_ADMIN or str(getattr(role, "value", role)) == "proxy_admin"


def _caller_identity(auth: Any, end_user: str | None) -> Identity:
    """The caller as the proxy's request metadata would name it (see ``requests.identity_of``)."""
    from litellm.proxy.litellm_pre_call_utils import LiteLLMProxyRequestSetup

    key = LiteLLMProxyRequestSetup.get_logged_api_key(auth)
    team = getattr(auth, "team_id", None)
    user = end_user or getattr(auth, "end_user_id", None)
    return Identity(
        team=str(team) if team else None,
        key=str(key) if key else None,
        end_user=str(user) if user else None,
    )


def feedback_routes(backend: SemanticCacheBackend) -> tuple[Any, Any]:
    """The feedback and delete route handlers for a backend."""
    pipeline = backend.pipeline

    async def owned_entry(request: Request, entry_id: str, end_user: str | None) -> Any:
        """The entry, after checking the caller may act on it."""
        auth = await _authenticate(request)
        if not isinstance(entry_id, str) or not _ENTRY_ID.match(entry_id):
            raise HTTPException(
                status_code=400, detail="entry_id must be an x-semcache-entry-id (32 hex digits)"
            )
        try:
            entry = await pipeline.entries.get(entry_id)
        except SemCacheError as exc:
            raise HTTPException(status_code=503, detail="the semantic cache cannot be reached") from exc
        if entry is None:
            raise HTTPException(status_code=404, detail="no such entry (expired, deleted, or never stored)")
        caller = tenant_of(_caller_identity(auth, end_user), backend.settings)
        if not _is_admin(auth) and caller != entry.tenant:
            raise HTTPException(status_code=403, detail="this entry was not served to this key's tenant")
        return entry

    async def delete_entry(entry_id: str, request: Request) -> JSONResponse:
        entry = await owned_entry(request, entry_id, request.query_params.get("user"))
        try:
            deleted = await pipeline.invalidate([entry.id], "api_delete")
        except SemCacheError as exc:
            raise HTTPException(status_code=503, detail="the semantic cache cannot be reached") from exc
        return JSONResponse({"entry_id": entry.id, "deleted": bool(deleted)})

    async def feedback(request: Request) -> JSONResponse:
        try:
            body = await request.json()
        except ValueError:
            body = None
        auth_first = not isinstance(body, dict)
        if auth_first:  # a malformed body from an unauthenticated caller is still a 401
            await _authenticate(request)
            raise HTTPException(
                status_code=400, detail='send a JSON object {"entry_id": ..., "correct": false}'
            )
        correct = body.get("correct", False)
        if not isinstance(correct, bool):
            await _authenticate(request)
            raise HTTPException(status_code=400, detail="correct must be true or false")
        end_user = body.get("user")
        entry = await owned_entry(
            request, body.get("entry_id"), end_user if isinstance(end_user, str) and end_user else None
        )
        pipeline.metrics.feedback(correct, pipeline.cell(entry))
        invalidated = False
        if not correct:
            try:
                invalidated = bool(await pipeline.invalidate([entry.id], "feedback"))
            except SemCacheError as exc:
                raise HTTPException(status_code=503, detail="the semantic cache cannot be reached") from exc
        pipeline.metrics.flush_in_background(pipeline.entries.client)
        logger.info("litellm-semcache: feedback on entry %s: %s", entry.id, "correct" if correct else "wrong")
        return JSONResponse({"entry_id": entry.id, "correct": correct, "invalidated": invalidated})

    return feedback, delete_entry
