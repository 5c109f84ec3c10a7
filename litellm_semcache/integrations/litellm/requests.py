"""Everything this package knows about LiteLLM's request kwargs: call types, metadata keys, identity.

LiteLLM hands the cache the request kwargs; the proxy puts who asks into their metadata
(``user_api_key_team_id``, ``user_api_key_hash``, ``user_api_key_end_user_id``, ``model_group``). On
chat and text completions that is ``metadata``; on ``/v1/messages`` and ``/v1/responses``, where
``metadata`` is a field of the API itself (sent on to the provider, chosen by the client), the proxy
uses ``litellm_metadata`` instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...formats import get_format
from ...policies import POLICY_TAG
from ...types import Identity

__all__ = [
    "CALL_TYPE_FORMATS",
    "SUPPORTED_CALL_TYPES",
    "call_type_of",
    "format_name_of",
    "identity_of",
    "metadata_holder",
    "prompt_of",
    "request_metadata",
]

#: LiteLLM call types the cache serves, and the API format of each.
CALL_TYPE_FORMATS: dict[str, str] = {
    "completion": "chat",
    "acompletion": "chat",
    "text_completion": "text_completion",
    "atext_completion": "text_completion",
    "anthropic_messages": "anthropic_messages",
    "aanthropic_messages": "anthropic_messages",
    "responses": "responses",
    "aresponses": "responses",
}
#: What LiteLLM's cache is told to handle (embeddings, audio, rerank and the rest are not).
SUPPORTED_CALL_TYPES = list(CALL_TYPE_FORMATS)
#: Call types whose API has a ``metadata`` field of its own.
_API_METADATA_CALL_TYPES = frozenset({"anthropic_messages", "aanthropic_messages", "responses", "aresponses"})
#: The formats a body is recognised as when its call type is unknown, in order.
_BY_BODY = ("responses", "text_completion", "chat")
_PROMPT_FIELDS = ("messages", "input", "prompt")


def call_type_of(kwargs: Mapping[str, Any]) -> str | None:
    """The call type LiteLLM's logging object records for the request (on lookups; streamed stores run
    without it). For a call LiteLLM makes inside another (``/v1/messages`` translated to the Responses
    API) it is the outer call's."""
    call_type = getattr(kwargs.get("litellm_logging_obj"), "call_type", None)
    call_type = getattr(call_type, "value", call_type)  # an enum member or its value
    return call_type if isinstance(call_type, str) else None


def format_name_of(kwargs: Mapping[str, Any], call_type: str | None = None) -> str | None:
    """The API format of a request: its call type's when the body has that API's shape, else the one
    its body has (``input``: Responses, ``prompt``: text completions, ``messages``: chat)."""
    name = CALL_TYPE_FORMATS.get(call_type or call_type_of(kwargs) or "")
    if name is not None and get_format(name).accepts(kwargs):
        return name
    return next((n for n in _BY_BODY if get_format(n).accepts(kwargs)), None)


def metadata_holder(kwargs: Mapping[str, Any]) -> dict[str, Any] | None:
    """The request-metadata dict this plugin may read its state from and write it to: the proxy's
    ``litellm_metadata`` when there is one, else ``metadata``, unless that is the API's own field
    (Messages, Responses), which goes to the provider and must never carry the plugin's keys."""
    holder = kwargs.get("litellm_metadata")
    if isinstance(holder, dict):
        return holder
    holder = kwargs.get("metadata")
    if isinstance(holder, dict) and call_type_of(kwargs) not in _API_METADATA_CALL_TYPES:
        return holder
    return None


def prompt_of(kwargs: Mapping[str, Any]) -> object:
    """The request's prompt field (``messages``, ``input`` or ``prompt``) as the very object sent."""
    return next((kwargs[f] for f in _PROMPT_FIELDS if f in kwargs), None)


def request_metadata(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """The proxy's request metadata, wherever this LiteLLM version put it.

    When the request has ``litellm_metadata``, its ``metadata`` is the API's own field, filled in by the
    client: it is never read here, or a client could claim another team's identity through it.
    """
    merged: dict[str, Any] = {}
    raw_params = kwargs.get("litellm_params")
    litellm_params: Mapping[str, Any] = raw_params if isinstance(raw_params, Mapping) else {}
    api_metadata = (
        isinstance(kwargs.get("litellm_metadata"), dict)
        or isinstance(litellm_params.get("litellm_metadata"), dict)
        or call_type_of(kwargs) in _API_METADATA_CALL_TYPES
    )
    sources = [
        None if api_metadata else kwargs.get("metadata"),
        kwargs.get("litellm_metadata"),
        None if api_metadata else litellm_params.get("metadata"),
        litellm_params.get("litellm_metadata"),
    ]
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
    key_alias = metadata.get("user_api_key_alias")
    team_alias = metadata.get("user_api_key_team_alias")
    return Identity(
        team=str(team) if team else None,
        key=str(key) if key else None,
        end_user=str(end_user) if end_user else None,
        model_group=str(group),
        key_alias=str(key_alias) if key_alias else None,
        team_alias=str(team_alias) if team_alias else None,
        policy_tags=_policy_tags(metadata),
    )


def _policy_tags(metadata: Mapping[str, Any]) -> tuple[str, ...]:
    """The policy the key's, then the team's, LiteLLM metadata names (set by an admin on the key or team;
    the proxy fills these fields itself, so a client cannot name a policy for itself)."""
    tags: list[str] = []
    for field in ("user_api_key_metadata", "user_api_key_team_metadata"):
        source = metadata.get(field)
        value = source.get(POLICY_TAG) if isinstance(source, Mapping) else None
        for tag in [value] if isinstance(value, str) else value if isinstance(value, list) else []:
            if isinstance(tag, str) and tag and tag not in tags:
                tags.append(tag)
    return tuple(tags)
