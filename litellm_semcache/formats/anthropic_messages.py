"""Anthropic Messages (``/v1/messages``): what Claude Code and Anthropic-SDK apps send.

The last user message is embedded; ``system`` and the earlier turns must match exactly, in the same
context shape chat completions use (``system`` is the system prompt, text blocks are joined by newlines
as chat content parts are), so a question asked through chat completions and through ``/v1/messages``
shares one entry. Any block that is not text (images, documents, tool use and results, thinking) keeps a
request out; ``tools`` and ``mcp_servers`` count as offered tools. ``top_k`` and ``temperature`` go to the
sampling envelope; ``stop_sequences`` is scoped like chat's ``stop``.

Only complete answers are stored: ``stop_reason`` ``end_turn`` or ``stop_sequence``, text blocks only
(thinking blocks are kept in the stored message but never rendered into another API), non-empty text.
``max_tokens``, ``refusal``, ``pause_turn`` and tool use are never stored. A streamed answer is read from
its events (``message_start`` ... ``message_stop``); one cut off before ``message_stop`` is not stored.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..settings import SemCacheSettings
from ..text import exact_text
from ..types import Answer, Finish, ParsedQuery, Refusal, Skip, Traits
from .base import (
    answer_of,
    as_mapping,
    count,
    native_of,
    number,
    pieces,
    positive_int,
    sampling_of,
    scoped_params,
    sse_data,
    sse_event,
)
from .chat import chat_context, text_of_parts

__all__ = ["AnthropicMessagesFormat", "assemble_message"]

_TEXT_BLOCKS = frozenset({"text"})
_ROLES = frozenset({"user", "assistant"})
_COMPLETE = {"end_turn": "stop", "stop_sequence": "stop_sequence"}
_KEPT_BLOCKS = frozenset({"text", "thinking", "redacted_thinking"})
_TOOL_BLOCKS = frozenset({"tool_use", "server_tool_use", "mcp_tool_use"})
#: Answer-shaping parameters of this API beyond the configured ``scoped_params``.
_OWN_PARAMS = ("output_format", "output_config", "container", "context_management")


def _size(body: Mapping[str, Any]) -> int:
    total = 0
    for holder in [body.get("system"), *(body.get("messages") or [])]:
        content = holder.get("content") if isinstance(holder, Mapping) else holder
        if isinstance(content, str):
            total += len(content)
        elif isinstance(content, list):
            total += sum(
                len(b["text"]) for b in content if isinstance(b, Mapping) and isinstance(b.get("text"), str)
            )
    return total


def _traits(body: Mapping[str, Any], earlier_turns: int, settings: SemCacheSettings) -> Traits:
    return Traits(
        offers_tools=bool(body.get("tools") or body.get("mcp_servers")),
        temperature=number(body.get("temperature")),
        earlier_turns=earlier_turns,
        sampling=sampling_of(body, settings),
        mock_response=body.get("mock_response") is not None,
    )


def assemble_message(events: Sequence[str]) -> dict[str, Any] | None:
    """The ``message`` a stream of Messages events adds up to; None unless it reached ``message_stop``
    (a stream cut off midway, or one that reported an error, is no answer)."""
    message: dict[str, Any] | None = None
    blocks: dict[int, dict[str, Any]] = {}
    for data in sse_data(events):
        kind = data.get("type")
        if kind == "message_start" and isinstance(data.get("message"), Mapping):
            message = dict(data["message"])
            message["usage"] = dict(message.get("usage") or {})
        elif kind == "content_block_start" and isinstance(data.get("content_block"), Mapping):
            blocks[int(data.get("index") or 0)] = dict(data["content_block"])
        elif kind == "content_block_delta" and isinstance(data.get("delta"), Mapping):
            block = blocks.setdefault(int(data.get("index") or 0), {"type": "text", "text": ""})
            delta = data["delta"]
            for field, key in (("text", "text"), ("thinking", "thinking"), ("partial_json", "input_json")):
                if isinstance(delta.get(field), str):
                    block[key] = str(block.get(key) or "") + delta[field]
        elif kind == "message_delta" and message is not None:
            message.update(data.get("delta") or {})
            message["usage"].update(data.get("usage") or {})
        elif kind == "error":
            return None
        elif kind == "message_stop" and message is not None:
            message["content"] = [blocks[i] for i in sorted(blocks)]
            return message
    return None


def message_of(answer: Answer) -> dict[str, Any]:
    """An Anthropic ``message`` built from an answer's neutral fields."""
    finish = "stop_sequence" if answer.finish == "stop_sequence" else "end_turn"
    return {
        "id": f"msg_{answer.answer_id}",
        "type": "message",
        "role": "assistant",
        "model": answer.model,
        "content": [{"type": "text", "text": answer.text}],
        "stop_reason": finish,
        "stop_sequence": None,
        "usage": {"input_tokens": answer.prompt_tokens or 0, "output_tokens": answer.completion_tokens or 0},
    }


class AnthropicMessagesFormat:
    """Anthropic Messages requests and ``message`` responses (plain or as their event stream)."""

    name = "anthropic_messages"

    def size(self, body: Mapping[str, Any]) -> int:
        """Characters of the system prompt's and the messages' text."""
        return _size(body)

    def accepts(self, body: Mapping[str, Any]) -> bool:
        """A body with ``messages``."""
        return "messages" in body

    def parse(self, body: Mapping[str, Any], settings: SemCacheSettings) -> ParsedQuery | Skip:
        """Read a Messages body. Never raises: anything unexpected is a :class:`Skip`."""
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return Skip("no_messages")
        if _size(body) > settings.max_prompt_chars:
            return Skip("prompt_too_long")
        system_text = text_of_parts(body.get("system"), _TEXT_BLOCKS)
        if system_text is None:
            return Skip("non_text_content")
        system = [exact_text(system_text)] if system_text else []
        turns: list[Any] = []
        user_texts: list[str] = []
        for raw in messages:
            message = as_mapping(raw) if not isinstance(raw, str) else None
            if message is None or message.get("role") not in _ROLES:
                return Skip("malformed_message")
            text = text_of_parts(message.get("content"), _TEXT_BLOCKS)
            if text is None:
                return Skip("non_text_content")
            if message["role"] == "user":
                user_texts.append(text)
            turns.append([message["role"], exact_text(text)])
        if turns[-1][0] != "user":
            return Skip("last_message_not_user")  # an assistant prefill shapes the answer
        query = user_texts[-1]
        if not query.strip():
            return Skip("empty_query")
        earlier = turns[:-1]
        stop = body.get("stop_sequences")
        own = {name: body.get(name) for name in _OWN_PARAMS}
        return ParsedQuery(
            query=query,
            user_texts=tuple(user_texts),
            context=tuple(chat_context(system, earlier, settings)),
            # stop_sequences is chat's `stop`: the same stops make the same scope in either API.
            params=scoped_params(body, settings, {**own, "stop": stop or None}),
            max_answer_tokens=positive_int(body.get("max_tokens")),
            traits=_traits(body, len(earlier), settings),
        )

    def recognises(self, response: Mapping[str, Any]) -> bool:
        """A ``message`` object."""
        return response.get("type") == "message" and "content" in response

    def read_answer(self, response: object, settings: SemCacheSettings) -> Answer | Refusal:
        """The storable answer in a ``message``, or in the server-sent events of its stream (a list of
        event texts); or why it must not be stored."""
        if isinstance(response, Sequence) and not isinstance(response, (str, bytes)):
            assembled = assemble_message([e for e in response if isinstance(e, str)])
            if assembled is None:
                return Refusal("finish_reason", "incomplete_stream")
            message: Mapping[str, Any] | None = assembled
        else:
            message = as_mapping(response)
        if message is None:
            return Refusal("unreadable_response")
        if message.get("type") == "error" or message.get("error"):
            return Refusal("error_response")
        content = message.get("content")
        if message.get("type") != "message" or not isinstance(content, list):
            return Refusal("unreadable_response")
        blocks = [block for block in content if isinstance(block, Mapping)]
        if len(blocks) != len(content):
            return Refusal("unreadable_response")
        kinds = {block.get("type") for block in blocks}
        if kinds & _TOOL_BLOCKS or message.get("stop_reason") == "tool_use":
            return Refusal("tool_calls")
        finish = _COMPLETE.get(str(message.get("stop_reason")))
        if finish is None:
            return Refusal("finish_reason", str(message.get("stop_reason")))
        if kinds - _KEPT_BLOCKS:
            return Refusal("non_text_answer")
        text = "".join(str(b.get("text") or "") for b in blocks if b.get("type") == "text")
        if not text.strip():
            return Refusal("empty_answer")
        raw_usage = message.get("usage")
        usage: Mapping[str, Any] = raw_usage if isinstance(raw_usage, Mapping) else {}
        prompt = count(usage.get("input_tokens"))
        if prompt is not None:  # cached prompt tokens are prompt tokens too
            prompt += sum(
                count(usage.get(k)) or 0 for k in ("cache_creation_input_tokens", "cache_read_input_tokens")
            )
        neutral_finish: Finish = "stop_sequence" if finish == "stop_sequence" else "stop"
        return answer_of(
            message,
            text,
            self.name,
            usage_keys=("input_tokens", "output_tokens"),
            prompt_tokens=prompt,
            finish=neutral_finish,
        )

    def render(self, answer: Answer) -> dict[str, Any]:
        """The stored ``message`` as it was answered, or one built from the neutral fields."""
        return native_of(answer, self.name) or message_of(answer)

    def render_stream(self, answer: Answer) -> list[str]:
        """The Messages event stream of the rendered message: ``message_start``, each content block
        (``content_block_start``, deltas in pieces, ``content_block_stop``), ``message_delta`` with the
        stop reason and output tokens, ``message_stop``."""
        message = self.render(answer)
        usage = dict(message.get("usage") or {})
        start = {
            **{k: v for k, v in message.items() if k not in ("content", "usage")},
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {**usage, "output_tokens": 0},
        }
        events = [sse_event({"type": "message_start", "message": start}, "message_start")]
        for index, block in enumerate(message.get("content") or []):
            events += _block_events(index, block)
        delta = {"stop_reason": message.get("stop_reason"), "stop_sequence": message.get("stop_sequence")}
        final_usage = {"output_tokens": usage.get("output_tokens", 0)}
        events.append(
            sse_event({"type": "message_delta", "delta": delta, "usage": final_usage}, "message_delta")
        )
        events.append(sse_event({"type": "message_stop"}, "message_stop"))
        return events


def _block_events(index: int, block: Mapping[str, Any]) -> list[str]:
    """``content_block_start``, its deltas and ``content_block_stop`` for one content block."""
    kind = block.get("type")
    start: dict[str, Any]
    if kind == "text":
        start = {"type": "text", "text": ""}
        deltas = [{"type": "text_delta", "text": p} for p in pieces(str(block.get("text") or ""))]
    elif kind == "thinking":
        start = {"type": "thinking", "thinking": "", "signature": ""}
        deltas = [{"type": "thinking_delta", "thinking": p} for p in pieces(str(block.get("thinking") or ""))]
        deltas.append({"type": "signature_delta", "signature": str(block.get("signature") or "")})
    else:
        start, deltas = dict(block), []
    opening = {"type": "content_block_start", "index": index, "content_block": start}
    events = [sse_event(opening, "content_block_start")]
    events += [
        sse_event({"type": "content_block_delta", "index": index, "delta": d}, "content_block_delta")
        for d in deltas
    ]
    events.append(sse_event({"type": "content_block_stop", "index": index}, "content_block_stop"))
    return events
