"""OpenAI chat completions (``/v1/chat/completions``): the first API format.

The last user message is what gets embedded. Everything else that shapes the answer (system prompt,
earlier turns, parameters such as ``response_format``) must match exactly, so it is reduced to data the
scope step hashes. Only complete answers are stored: one choice, finish reason ``stop`` (or a provider's
equivalent), non-empty text.

The context is built as ``[["system", [texts]], ["turns", [[role, text, ...], ...]]]``: the other formats
build the same shape from their own fields (Anthropic's ``system``, Responses' ``instructions``), so the
same conversation asked through any of them lands in the same scope.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..settings import SemCacheSettings
from ..text import canonical, exact_text
from ..types import Answer, Finish, ParsedQuery, Refusal, Skip, Traits
from .base import (
    answer_of,
    as_mapping,
    created_of,
    native_of,
    number,
    openai_usage,
    pieces,
    positive_int,
    sampling_of,
    scoped_params,
    sse_event,
)

__all__ = ["ChatFormat", "chat_context", "text_of_parts"]

_SYSTEM_ROLES = frozenset({"system", "developer"})
_TEXT_PART_TYPES = frozenset({"text", "input_text"})
_TURN_EXTRAS = ("name", "tool_calls", "function_call", "tool_call_id")
_COMPLETE_FINISH_REASONS = frozenset({"stop", "end_turn", "stop_sequence", "eos"})
_TOOL_FINISH_REASONS = frozenset({"tool_calls", "function_call", "tool_use"})


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


def text_of_parts(content: object, text_types: frozenset[str]) -> str | None:
    """The text of a message's content (a string, or a list of text parts joined by newlines); None
    when it holds anything but text."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts: list[str] = []
        for part in content:
            part_map = as_mapping(part) if not isinstance(part, str) else None
            if part_map is None or part_map.get("type") not in text_types:
                return None
            text = part_map.get("text")
            if not isinstance(text, str):
                return None
            texts.append(text)
        return "\n".join(texts)
    return None


def chat_context(system: list[str], earlier: list[Any], settings: SemCacheSettings) -> list[Any]:
    """The exact-match context of a conversation: system prompts and the turns before the question
    (left out under ``context_policy: system_only``). Every format builds it through here."""
    context: list[Any] = [["system", system]]
    if settings.context_policy != "system_only":
        context.append(["turns", earlier])
    return context


def _traits(body: Mapping[str, Any], earlier_turns: int, settings: SemCacheSettings) -> Traits:
    modalities = body.get("modalities")
    n = body.get("n")
    return Traits(
        choices=n if isinstance(n, int) and not isinstance(n, bool) else 1,
        logprobs=bool(body.get("logprobs") or body.get("top_logprobs")),
        audio_output=bool(body.get("audio"))
        or (isinstance(modalities, list) and any(m != "text" for m in modalities)),
        offers_tools=any(body.get(p) for p in ("tools", "functions")),
        temperature=number(body.get("temperature")),
        earlier_turns=earlier_turns,
        sampling=sampling_of(body, settings),
        mock_response=body.get("mock_response") is not None,
    )


def chat_completion(answer: Answer, *, object_: str = "chat.completion") -> dict[str, Any]:
    """A ``chat.completion`` built from an answer's neutral fields."""
    return {
        "id": f"chatcmpl-{answer.answer_id}",
        "object": object_,
        "created": created_of(answer),
        "model": answer.model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": answer.text},
                "finish_reason": "tool_calls" if answer.finish == "tool_calls" else "stop",
            }
        ],
        "usage": openai_usage(answer),
    }


class ChatFormat:
    """Chat completions requests and ``chat.completion`` responses."""

    name = "chat"

    def size(self, body: Mapping[str, Any]) -> int:
        """Characters of the messages' text."""
        messages = body.get("messages")
        return _size(messages) if isinstance(messages, list) else 0

    def accepts(self, body: Mapping[str, Any]) -> bool:
        """A body with ``messages``."""
        return "messages" in body

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
            text = text_of_parts(message.get("content"), _TEXT_PART_TYPES)
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
        max_tokens = positive_int(body.get("max_completion_tokens")) or positive_int(body.get("max_tokens"))
        return ParsedQuery(
            query=query,
            user_texts=tuple(user_texts),
            context=tuple(chat_context(system, earlier, settings)),
            params=scoped_params(body, settings),
            max_answer_tokens=max_tokens,
            traits=_traits(body, len(earlier), settings),
        )

    def recognises(self, response: Mapping[str, Any]) -> bool:
        """A response whose first choice has a ``message``."""
        choices = response.get("choices")
        return (
            isinstance(choices, list)
            and bool(choices)
            and isinstance(choices[0], Mapping)
            and isinstance(choices[0].get("message"), Mapping)
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
        finish: Finish = "tool_calls" if has_tool_calls else "stop"
        return answer_of(
            completion, text, self.name, usage_keys=("prompt_tokens", "completion_tokens"), finish=finish
        )

    def render(self, answer: Answer) -> dict[str, Any]:
        """The stored ``chat.completion`` as it was answered, or one built from the neutral fields."""
        return native_of(answer, self.name) or chat_completion(answer)

    def render_stream(self, answer: Answer) -> list[str]:
        """``chat.completion.chunk`` events: the role, the text in pieces, the finish (with the usage),
        then ``[DONE]``."""
        completion = self.render(answer)
        choice = completion["choices"][0]
        head = {k: completion.get(k) for k in ("id", "created", "model")}

        def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
            body = {**head, "object": "chat.completion.chunk"}
            body["choices"] = [{"index": 0, "delta": delta, "finish_reason": finish}]
            return sse_event({**body, **extra})

        events = [chunk({"role": "assistant", "content": ""})]
        events += [chunk({"content": piece}) for piece in pieces(answer.text)]
        tool_calls = choice["message"].get("tool_calls")
        if tool_calls:
            events.append(chunk({"tool_calls": [{"index": i, **c} for i, c in enumerate(tool_calls)]}))
        events.append(chunk({}, choice.get("finish_reason") or "stop", usage=completion.get("usage")))
        return [*events, "data: [DONE]\n\n"]
