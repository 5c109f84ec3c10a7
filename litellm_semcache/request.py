"""Step 1 of the request path: read a chat request into what the cache compares.

The last user message is what gets embedded. Everything else that shapes the answer (system prompt,
earlier turns, parameters such as ``response_format``) must match exactly, so it is reduced to data
that the scope step hashes. A request the cache must not touch comes back as :class:`Skip` with a reason.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .settings import SemCacheSettings

__all__ = ["ChatRequest", "Skip", "normalize_text", "parse_request"]

_SYSTEM_ROLES = frozenset({"system", "developer"})
_TEXT_PART_TYPES = frozenset({"text", "input_text"})
_WHITESPACE = re.compile(r"\s+")
_TRAILING_PUNCTUATION = re.compile(r"[\s?!.。？！]+$")


@dataclass(frozen=True)
class Skip:
    """The cache stays out of this request: no lookup, no store."""

    reason: str


@dataclass(frozen=True)
class ChatRequest:
    """A cacheable chat request, reduced to what decides whether two requests share an answer."""

    query: str
    """The last user message: what is embedded and compared by meaning."""
    user_texts: tuple[str, ...]
    """Every user message, for the cacheability filter."""
    context: tuple[Any, ...]
    """System prompt and earlier turns, canonical; must match exactly (empty under `single_turn`)."""
    params: Mapping[str, Any] = field(default_factory=dict)
    """Scoped request parameters that must be equal (tools, response_format, ...)."""
    max_tokens: int | None = None
    """The request's completion-token limit: a stored answer longer than this cannot serve it."""


def normalize_text(text: str) -> str:
    """Case, width, whitespace and trailing punctuation do not change a question."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _WHITESPACE.sub(" ", text).strip()
    return _TRAILING_PUNCTUATION.sub("", text)


def _as_mapping(message: object) -> Mapping[str, Any] | None:
    if isinstance(message, Mapping):
        return message
    dump = getattr(message, "model_dump", None)  # SDK callers may pass pydantic messages
    if callable(dump):
        dumped = dump()
        return dumped if isinstance(dumped, Mapping) else None
    return None


def _content_text(content: object) -> str | None:
    """The text of a message's content; None when it holds anything but text."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts: list[str] = []
        for part in content:
            part_map = _as_mapping(part)
            if part_map is None or part_map.get("type") not in _TEXT_PART_TYPES:
                return None
            text = part_map.get("text")
            if not isinstance(text, str):
                return None
            texts.append(text)
        return "\n".join(texts)
    return None


def _canonical(value: object) -> Any:
    """A JSON-stable copy, so equal parameters hash equally whatever their key order."""
    return json.loads(json.dumps(value, sort_keys=True, default=str))


def _positive_int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _param_skip(kwargs: Mapping[str, Any], settings: SemCacheSettings) -> Skip | None:
    n = kwargs.get("n")
    if n not in (None, 1):
        return Skip("n_not_1")
    if kwargs.get("logprobs") or kwargs.get("top_logprobs"):
        return Skip("logprobs")
    modalities = kwargs.get("modalities")
    if kwargs.get("audio") or (isinstance(modalities, list) and any(m != "text" for m in modalities)):
        return Skip("audio_output")
    if not settings.cache_tool_calls and any(kwargs.get(p) for p in ("tools", "functions")):
        return Skip("tools")
    temperature = kwargs.get("temperature")
    if (
        settings.max_temperature is not None
        and isinstance(temperature, (int, float))
        and temperature > settings.max_temperature
    ):
        return Skip("temperature_above_limit")
    return None


def _scoped_params(kwargs: Mapping[str, Any], settings: SemCacheSettings) -> dict[str, Any]:
    names = list(settings.scoped_params)
    if settings.temperature_policy == "scope":
        names += ["temperature", "top_p"]
    return {name: _canonical(kwargs[name]) for name in sorted(set(names)) if kwargs.get(name) is not None}


def parse_request(kwargs: Mapping[str, Any], settings: SemCacheSettings) -> ChatRequest | Skip:
    """Read LiteLLM completion kwargs. Never raises: anything unexpected is a :class:`Skip`."""
    messages = kwargs.get("messages")
    if not isinstance(messages, list) or not messages:
        return Skip("no_messages")
    skip = _param_skip(kwargs, settings)
    if skip is not None:
        return skip

    system: list[Any] = []
    turns: list[Any] = []
    user_texts: list[str] = []
    for raw in messages:
        message = _as_mapping(raw)
        if message is None or not isinstance(message.get("role"), str):
            return Skip("malformed_message")
        role = message["role"]
        text = _content_text(message.get("content"))
        if text is None:
            return Skip("non_text_content")
        if role in _SYSTEM_ROLES:
            system.append(normalize_text(text))
            continue
        if role == "user":
            user_texts.append(text)
        turn = [role, normalize_text(text)]
        for extra in ("name", "tool_calls", "function_call", "tool_call_id"):
            if message.get(extra):
                turn.append([extra, _canonical(message[extra])])
        turns.append(turn)

    if not turns or turns[-1][0] != "user":
        return Skip("last_message_not_user")
    query = user_texts[-1]
    if not query.strip():
        return Skip("empty_query")
    earlier = turns[:-1]
    if earlier and settings.context_policy == "single_turn":
        return Skip("multi_turn")
    context: list[Any] = [["system", system]]
    if settings.context_policy != "system_only":
        context.append(["turns", earlier])

    max_tokens = _positive_int(kwargs.get("max_completion_tokens")) or _positive_int(kwargs.get("max_tokens"))
    return ChatRequest(
        query=query,
        user_texts=tuple(user_texts),
        context=tuple(context),
        params=_scoped_params(kwargs, settings),
        max_tokens=max_tokens,
    )
