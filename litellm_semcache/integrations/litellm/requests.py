"""Everything this package knows about LiteLLM's request kwargs: call types, metadata keys, identity.

LiteLLM hands the cache the completion kwargs; the proxy puts who asks into their metadata
(``user_api_key_team_id``, ``user_api_key_hash``, ``user_api_key_end_user_id``, ``model_group``), under
``metadata`` or ``litellm_metadata`` depending on the route and version.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...types import Identity

__all__ = ["CALL_TYPE_FORMATS", "SUPPORTED_CALL_TYPES", "identity_of", "request_metadata"]

#: LiteLLM call types the cache serves, and the API format of each.
CALL_TYPE_FORMATS: dict[str, str] = {"acompletion": "chat", "completion": "chat"}
#: What LiteLLM's cache is told to handle (embeddings, audio, Responses and Anthropic calls are not).
SUPPORTED_CALL_TYPES = list(CALL_TYPE_FORMATS)


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


def identity_of(kwargs: Mapping[str, Any]) -> Identity:
    """Who asks: team, key, end user and model group from the proxy's metadata."""
    metadata = request_metadata(kwargs)
    key = metadata.get("user_api_key_hash") or metadata.get("user_api_key")
    team = metadata.get("user_api_key_team_id")
    end_user = metadata.get("user_api_key_end_user_id") or kwargs.get("user")
    group = metadata.get("model_group") or kwargs.get("model") or "unknown"
    return Identity(
        team=str(team) if team else None,
        key=str(key) if key else None,
        end_user=str(end_user) if end_user else None,
        model_group=str(group),
    )
