"""Re-sending a served hit's request to its provider through LiteLLM, for an audit.

The request is called again with the kwargs LiteLLM handed the cache: the same call (chat, text
completion, Responses, Messages), the same deployment and provider parameters the router chose, the
client's own parameters, minus what belongs to the original call only (its logging object, ids, the
proxied HTTP request with its headers, the plugin's metadata, streaming) and with the cache switched off
for it (no lookup, no store). The kwargs hold the provider's API key: they are never logged, and a
failure is reported by its exception type only.

The proxy's identity metadata is left out, so LiteLLM's own spend tracking does not bill an audit to the
key that received the hit: audit spend is the operator's, counted by the plugin (``audit_tokens``,
``audit_cost_usd``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from ...formats.base import as_mapping

__all__ = ["audit_kwargs", "resend", "usage_of"]

#: Keys of a call's kwargs that belong to that call only (or carry the client's HTTP request).
_PER_CALL = frozenset(
    {
        "litellm_logging_obj",
        "litellm_call_id",
        "litellm_trace_id",
        "cache_key",
        "preset_cache_key",
        "parent_otel_span",
        "proxy_server_request",
        "secret_fields",
        "_context_compaction_state",
        "shared_session",
        "client",
        "litellm_metadata",
        "stream",
        "stream_options",
        "cache",
        "caching",
        "ttl",
    }
)
#: Formats whose ``metadata`` is LiteLLM's (the proxy's identity, the plugin's keys), not the API's own.
_LITELLM_METADATA_FORMATS = frozenset({"chat", "text_completion"})
_AUDIT_MARK = {"semcache_audit": True}


def audit_kwargs(kwargs: Mapping[str, Any], format_name: str) -> dict[str, Any]:
    """The kwargs of an audit call: the original call's, minus what belongs to it alone, uncached."""
    audit = {key: value for key, value in kwargs.items() if key not in _PER_CALL}
    if format_name in _LITELLM_METADATA_FORMATS:
        audit["metadata"] = dict(_AUDIT_MARK)
    else:
        audit["litellm_metadata"] = dict(_AUDIT_MARK)
    if format_name == "responses":
        audit["store"] = False  # no response object left at the provider for a call nobody sees
    audit["caching"] = False
    audit["cache"] = {"no-cache": True, "no-store": True}
    return audit


def _function(format_name: str) -> Callable[..., Awaitable[Any]]:
    import litellm

    function: Callable[..., Awaitable[Any]] = litellm.acompletion
    if format_name == "text_completion":
        function = litellm.atext_completion
    elif format_name == "responses":
        function = litellm.aresponses
    elif format_name == "anthropic_messages":
        from litellm.messages import anthropic_messages

        function = anthropic_messages
    return function


async def resend(format_name: str, kwargs: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """Call the provider again with audit kwargs (see :func:`audit_kwargs`); the response as JSON.

    Raises:
        Exception: whatever LiteLLM raises for a failed call (the caller counts it as failed).
    """
    response = await _function(format_name)(**kwargs)
    return as_mapping(response)


def usage_of(response: Mapping[str, Any] | None) -> tuple[int, int]:
    """Prompt and completion tokens of a response of any API (chat's ``prompt_tokens`` /
    ``completion_tokens``, Messages' and Responses' ``input_tokens`` / ``output_tokens``)."""
    usage = response.get("usage") if response is not None else None
    if not isinstance(usage, Mapping):
        return 0, 0

    def number(*names: str) -> int:
        for name in names:
            value = usage.get(name)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return int(value)
        return 0

    return number("prompt_tokens", "input_tokens"), number("completion_tokens", "output_tokens")
