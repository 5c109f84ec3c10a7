"""OpenAI chat completions (``/v1/chat/completions``): the first API format.

The last user message is what gets embedded. Everything else that shapes the answer (system prompt,
earlier turns, parameters such as ``response_format``) must match exactly, so it is reduced to data the
scope step hashes. Only complete answers are stored: one choice, finish reason ``stop`` (or a provider's
equivalent), non-empty text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ..settings import SemCacheSettings
from ..text import canonical, exact_text
from ..types import Answer, ParsedQuery, Refusal, Skip, Traits
from .base import answer_id, as_mapping, json_text

__all__ = ["ChatFormat"]

_SYSTEM_ROLES = frozenset({"system", "developer"})
_TEXT_PART_TYPES = frozenset({"text", "input_text"})
_TURN_EXTRAS = ("name", "tool_calls", "function_call", "tool_call_id")
_COMPLETE_FINISH_REASONS = frozenset({"stop", "end_turn", "stop_sequence", "eos"})
_TOOL_FINISH_REASONS = frozenset({"tool_calls", "function_call", "tool_use"})
_SAMPLING = (
    "temperature",
    "top_p",
    "seed",
    "top_k",
    "presence_penalty",
    "frequency_penalty",
    "repetition_penalty",
    "min_p",
)


def _size(messages: list[Any]) -> int:
    """Characters of the messages' text, counted before anything else touches a possibly huge body."""
    total = 0
    for raw in messages:
        content = raw.get("content") if isinstance(raw, Mapping) else None
        if isinstance(content, str):
            total += len(content)
        elif isinstance(content, list):
            total += sum(
                len(p["text"]) for p in content if isinstance(p, Mapping) and isinstance(p.get("text"), str)
            )
    return total


def _content_text(content: object) -> str | None:
    """The text of a message's content; None when it holds anything but text."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts: list[str] = []
        for part in content:
            part_map = as_mapping(part) if not isinstance(part, str) else None
            if part_map is None or part_map.get("type") not in _TEXT_PART_TYPES:
                return None
            text = part_map.get("text")
            if not isinstance(text, str):
                return None
            texts.append(text)
        return "\n".join(texts)
    return None


def _positive_int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _traits(body: Mapping[str, Any], earlier_turns: int, settings: SemCacheSettings) -> Traits:
    modalities = body.get("modalities")
    n = body.get("n")
    temperature = body.get("temperature")
    names = dict.fromkeys([*_SAMPLING, *settings.sampling_envelope.forbidden])
    sampling = {name: _number(body.get(name)) for name in names}
    return Traits(
        choices=n if isinstance(n, int) and not isinstance(n, bool) else 1,
        logprobs=bool(body.get("logprobs") or body.get("top_logprobs")),
        audio_output=bool(body.get("audio"))
        or (isinstance(modalities, list) and any(m != "text" for m in modalities)),
        offers_tools=any(body.get(p) for p in ("tools", "functions")),
        temperature=float(temperature)
        if isinstance(temperature, (int, float)) and not isinstance(temperature, bool)
        else None,
        earlier_turns=earlier_turns,
        sampling={name: value for name, value in sampling.items() if value is not None},
        mock_response=body.get("mock_response") is not None,
    )


def _scoped_params(body: Mapping[str, Any], settings: SemCacheSettings) -> dict[str, Any]:
    names = list(settings.scoped_params)
    if settings.temperature_policy == "scope":
        names += ["temperature", "top_p"]
    return {name: canonical(body[name]) for name in sorted(set(names)) if body.get(name) is not None}


class ChatFormat:
    """Chat completions requests and ``chat.completion`` responses."""

    name = "chat"

    def size(self, body: Mapping[str, Any]) -> int:
        """Characters of the messages' text."""
        messages = body.get("messages")
        return _size(messages) if isinstance(messages, list) else 0

    def parse(self, body: Mapping[str, Any], settings: SemCacheSettings) -> ParsedQuery | Skip:
        """Read a chat completions body. Never raises: anything unexpected is a :class:`Skip`."""
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return Skip("no_messages")
        if _size(messages) > settings.max_prompt_chars:
            return Skip("prompt_too_long")
        system: list[Any] = []
        turns: list[Any] = []
        user_texts: list[str] = []
        for raw in messages:
            message = as_mapping(raw) if not isinstance(raw, str) else None
            if message is None or not isinstance(message.get("role"), str):
                return Skip("malformed_message")
            role = message["role"]
            text = _content_text(message.get("content"))
            if text is None:
                return Skip("non_text_content")
            if role in _SYSTEM_ROLES:
                system.append(exact_text(text))
                continue
            if role == "user":
                user_texts.append(text)
            turn = [role, exact_text(text)]
            for extra in _TURN_EXTRAS:
                if message.get(extra):
                    turn.append([extra, canonical(message[extra])])
            turns.append(turn)

        if not turns or turns[-1][0] != "user":
            return Skip("last_message_not_user")
        query = user_texts[-1]
        if not query.strip():
            return Skip("empty_query")
        earlier = turns[:-1]
        context: list[Any] = [["system", system]]
        if settings.context_policy != "system_only":
            context.append(["turns", earlier])
        max_tokens = _positive_int(body.get("max_completion_tokens")) or _positive_int(body.get("max_tokens"))
        return ParsedQuery(
            query=query,
            user_texts=tuple(user_texts),
            context=tuple(context),
            params=_scoped_params(body, settings),
            max_answer_tokens=max_tokens,
            traits=_traits(body, len(earlier), settings),
        )

    def read_answer(self, response: object, settings: SemCacheSettings) -> Answer | Refusal:
        """The storable answer in a ``chat.completion``, or why it must not be stored."""
        completion = as_mapping(response)
        if completion is None:
            return Refusal("unreadable_response")
        if completion.get("error"):
            return Refusal("error_response")
        choices = completion.get("choices")
        if not isinstance(choices, list) or len(choices) != 1 or not isinstance(choices[0], Mapping):
            return Refusal("not_one_choice")
        choice = choices[0]
        message = choice.get("message")
        if not isinstance(message, Mapping):
            return Refusal("no_message")
        finish_reason = choice.get("finish_reason")
        has_tool_calls = bool(message.get("tool_calls") or message.get("function_call"))
        allow_tool_calls = settings.cache_tool_calls
        if has_tool_calls and not allow_tool_calls:
            return Refusal("tool_calls")
        allowed = _COMPLETE_FINISH_REASONS | (_TOOL_FINISH_REASONS if allow_tool_calls else frozenset())
        if finish_reason not in allowed:
            return Refusal("finish_reason", str(finish_reason))
        content = message.get("content")
        text = content if isinstance(content, str) else ""
        if not text.strip() and not has_tool_calls:
            return Refusal("empty_answer")
        usage = completion.get("usage")
        tokens = usage.get("completion_tokens") if isinstance(usage, Mapping) else None
        native = json_text(completion)
        return Answer(
            text=text,
            model=str(completion.get("model") or ""),
            completion_tokens=tokens if isinstance(tokens, int) else None,
            native=native,
            answer_id=answer_id(text, native),
        )

    def render(self, stored: str) -> Mapping[str, Any]:
        """The stored ``chat.completion`` as it was answered."""
        rendered: Mapping[str, Any] = json.loads(stored)
        return rendered
