"""Bearer tokens → teams, keys and permissions, without a database (LiteLLM's `custom_auth`).

Copied next to the proxy config the hostile-client tests write; LiteLLM loads it from there.
"""

from __future__ import annotations

import os
from typing import Any

from fastapi import HTTPException, Request
from litellm.proxy._types import LitellmUserRoles, UserAPIKeyAuth

#: token -> what the key is: its team (None: a key without a team) and its key-level metadata.
KEYS: dict[str, dict[str, Any]] = {
    "sk-team-a-1": {"team_id": "team-a"},
    "sk-team-a-2": {"team_id": "team-a"},
    "sk-team-b-1": {"team_id": "team-b"},
    "sk-solo": {"team_id": None},
    # a key allowed to send mock_response (LiteLLM's own per-key switch)
    "sk-team-a-mock": {"team_id": "team-a", "metadata": {"allow_client_mock_response": True}},
    # keys an admin tied to a cache policy: by the key's metadata, and by the key's alias
    "sk-team-a-clinical": {"team_id": "team-a", "metadata": {"semcache_policy": "clinical"}},
    "sk-team-a-legal-app": {"team_id": "team-a", "key_alias": "legal-app"},
}


async def user_api_key_auth(request: Request, api_key: str) -> UserAPIKeyAuth:
    token = api_key.removeprefix("Bearer ").strip()
    if token == os.environ.get("LITELLM_MASTER_KEY"):
        return UserAPIKeyAuth(api_key=token, user_role=LitellmUserRoles.PROXY_ADMIN)
    if token not in KEYS:
        raise HTTPException(status_code=401, detail="unknown key")
    return UserAPIKeyAuth(api_key=token, **KEYS[token])
