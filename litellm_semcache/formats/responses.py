"""OpenAI Responses (``/v1/responses``): what OpenAI's Agents SDK and newer OpenAI clients send.

The last user message of ``input`` (a string is one user message) is embedded. ``instructions`` (and any
system or developer message in ``input``) is the system prompt, the items before the question are the
earlier turns, in the context shape chat completions use, so a question asked through either API shares
one entry. Server-side history must match exactly too: ``previous_response_id`` and ``conversation`` are
part of the context, so a request continuing one conversation only ever hits entries stored under that
same id, never an answer given after another history. Items other than messages (function calls and
their outputs, reasoning, item references) and non-text parts (images, files, audio) keep a request out;
``tools`` count as offered tools; ``text`` (an output format other than plain text), ``reasoning`` and
``prompt`` (a stored prompt template) are scoped parameters.

Only complete answers are stored: ``status: completed``, message output only (reasoning items are kept
in the stored response but never rendered into another API), non-empty text, no refusal part.
``incomplete`` (``max_output_tokens``), ``failed`` and tool calls are never stored.

**Continuing a cached response.** The provider keeps Responses history: a follow-up names the response
it continues by ``previous_response_id``. A response the cache built from another API's answer was never
seen by the provider, so it gets an id of the cache's own (:data:`CACHED_RESPONSE_PREFIX`) and a record
of what it continued (:func:`continuation_of`); a follow-up naming it is rewritten into one the provider
can answer, with that history spelled out in ``input`` (:func:`continued`). Requests in a provider-side
``conversation`` are not cached at all: each turn is added to the conversation by the provider, and a
turn answered from the cache would be missing from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..settings import SemCacheSettings
from ..text import canonical, exact_text
from ..types import Answer, ParsedQuery, Refusal, Skip, Traits
from .base import (
    answer_of,
    as_mapping,
    created_of,
    native_of,
    number,
    pieces,
    positive_int,
    sampling_of,
    scoped_params,
    sse_event,
)
from .chat import chat_context, text_of_parts

__all__ = ["CACHED_RESPONSE_PREFIX", "ResponsesFormat", "continuation_of", "continued"]

#: Ids of responses the cache built from another API's answer start with this.
CACHED_RESPONSE_PREFIX = "resp_semcache_"

_TEXT_PARTS = frozenset({"input_text", "output_text", "text"})
_SYSTEM_ROLES = frozenset({"system", "developer"})
_ROLES = frozenset({"user", "assistant", *_SYSTEM_ROLES})
_KEPT_ITEMS = frozenset({"message", "reasoning"})
_LOGPROBS_INCLUDE = "message.output_text.logprobs"
_PLAIN_TEXT = {"format": {"type": "text"}}


def _items(body: Mapping[str, Any]) -> list[Any] | None:
    value = body.get("input")
    if isinstance(value, str):
        return [{"role": "user", "content": value}]
    return value if isinstance(value, list) else None


def _size(body: Mapping[str, Any]) -> int:
    total = len(body["instructions"]) if isinstance(body.get("instructions"), str) else 0
    for item in _items(body) or []:
        content = item.get("content") if isinstance(item, Mapping) else None
        if isinstance(content, str):
            total += len(content)
        elif isinstance(content, list):
            total += sum(
                len(p["text"]) for p in content if isinstance(p, Mapping) and isinstance(p.get("text"), str)
            )
    return total


def _state(body: Mapping[str, Any]) -> list[Any]:
    """Server-side history the request continues: it must be the same for an entry to serve it."""
    previous = body.get("previous_response_id")
    return [["previous_response_id", str(previous)]] if previous else []


def continuation_of(body: Mapping[str, Any], answer_text: str) -> dict[str, Any]:
    """What a follow-up to a response served from the cache continues: the request's input (as items),
    the history that input continued (its ``previous_response_id``), and the answer given."""
    return {
        "input": _items(body) or [],
        "previous_response_id": body.get("previous_response_id") or None,
        "answer": answer_text,
    }


def continued(body: Mapping[str, Any], record: Mapping[str, Any]) -> dict[str, Any]:
    """A follow-up naming a response served from the cache, rewritten into one the provider can answer:
    the recorded input, the answer as an assistant message, then the follow-up's own input; continuing
    the recorded ``previous_response_id``, or no stored history at all."""
    rewritten = dict(body)
    answer = {"role": "assistant", "content": str(record.get("answer") or "")}
    rewritten["input"] = [*(record.get("input") or []), answer, *(_items(body) or [])]
    if record.get("previous_response_id"):
        rewritten["previous_response_id"] = record["previous_response_id"]
    else:
        rewritten.pop("previous_response_id", None)
    return rewritten


def _params(body: Mapping[str, Any], settings: SemCacheSettings) -> dict[str, Any]:
    text = body.get("text")
    reasoning = body.get("reasoning") if isinstance(body.get("reasoning"), Mapping) else None
    own: dict[str, Any] = {
        # Plain text output is what every other API gives: only another output format is scoped.
        "text": text if text and canonical(text) != _PLAIN_TEXT else None,
        "prompt": body.get("prompt"),
        # The effort is chat's `reasoning_effort`: the same effort makes the same scope in either API.
        "reasoning_effort": reasoning.get("effort") if reasoning else None,
        "reasoning": _other_reasoning(reasoning),
    }
    return scoped_params(body, settings, own)


def _other_reasoning(reasoning: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Reasoning options other than the effort (a summary, ...), when any is set."""
    others = {k: v for k, v in (reasoning or {}).items() if k != "effort" and v is not None}
    return others or None


def _traits(body: Mapping[str, Any], earlier_turns: int, settings: SemCacheSettings) -> Traits:
    include = body.get("include")
    return Traits(
        logprobs=bool(body.get("top_logprobs"))
        or (isinstance(include, list) and _LOGPROBS_INCLUDE in include),
        offers_tools=bool(body.get("tools")),
        temperature=number(body.get("temperature")),
        earlier_turns=earlier_turns,
        sampling=sampling_of(body, settings),
        mock_response=body.get("mock_response") is not None,
    )


def response_of(answer: Answer) -> dict[str, Any]:
    """A Responses ``response`` built from an answer's neutral fields. ``store`` is false: the provider
    never saw this response, so it cannot be continued by ``previous_response_id`` there."""
    prompt, completion = answer.prompt_tokens or 0, answer.completion_tokens or 0
    message = {
        "type": "message",
        "id": f"msg_{answer.answer_id}",
        "status": "completed",
        "role": "assistant",
        "content": [{"type": "output_text", "text": answer.text, "annotations": []}],
    }
    return {
        "id": f"resp_{answer.answer_id}",
        "object": "response",
        "created_at": created_of(answer),
        "status": "completed",
        "error": None,
        "incomplete_details": None,
        "instructions": None,
        "max_output_tokens": None,
        "model": answer.model,
        "output": [message],
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "reasoning": {"effort": None, "summary": None},
        "store": False,
        "temperature": None,
        "text": {"format": {"type": "text"}},
        "tool_choice": "auto",
        "tools": [],
        "top_p": None,
        "truncation": "disabled",
        "usage": {
            "input_tokens": prompt,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": completion,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": prompt + completion,
        },
        "user": None,
        "metadata": {},
    }


class ResponsesFormat:
    """Responses API requests and ``response`` objects."""

    name = "responses"

    def size(self, body: Mapping[str, Any]) -> int:
        """Characters of the instructions' and the input items' text."""
        return _size(body)

    def accepts(self, body: Mapping[str, Any]) -> bool:
        """A body with ``input`` and no ``messages``."""
        return "input" in body and "messages" not in body

    def parse(self, body: Mapping[str, Any], settings: SemCacheSettings) -> ParsedQuery | Skip:
        """Read a Responses body. Never raises: anything unexpected is a :class:`Skip`."""
        items = _items(body)
        if not items:
            return Skip("no_messages")
        if body.get("conversation"):
            return Skip("server_state")  # the provider adds every turn to it: a cached one would be lost
        if _size(body) > settings.max_prompt_chars:
            return Skip("prompt_too_long")
        instructions = body.get("instructions")
        if instructions is not None and not isinstance(instructions, str):
            return Skip("malformed_message")
        system = [exact_text(instructions)] if instructions else []
        turns: list[Any] = []
        user_texts: list[str] = []
        for raw in items:
            item = as_mapping(raw) if not isinstance(raw, str) else None
            if item is None:
                return Skip("malformed_message")
            if item.get("type", "message") != "message":
                return Skip("non_text_content")  # tool calls and outputs, reasoning, item references
            role = item.get("role")
            if role not in _ROLES:
                return Skip("malformed_message")
            text = text_of_parts(item.get("content"), _TEXT_PARTS)
            if text is None:
                return Skip("non_text_content")
            if role in _SYSTEM_ROLES:
                system.append(exact_text(text))
                continue
            if role == "user":
                user_texts.append(text)
            turns.append([role, exact_text(text)])
        if not turns or turns[-1][0] != "user":
            return Skip("last_message_not_user")
        query = user_texts[-1]
        if not query.strip():
            return Skip("empty_query")
        earlier = turns[:-1]
        # Server-side history is earlier turns: it is left out only where turns are (`system_only`).
        state = _state(body) if settings.context_policy != "system_only" else []
        context = chat_context(system, earlier, settings) + state
        return ParsedQuery(
            query=query,
            user_texts=tuple(user_texts),
            context=tuple(context),
            params=_params(body, settings),
            max_answer_tokens=positive_int(body.get("max_output_tokens")),
            # A continued conversation has earlier turns even when the request sends only the question.
            traits=_traits(body, len(earlier) + len(_state(body)), settings),
        )

    def recognises(self, response: Mapping[str, Any]) -> bool:
        """A ``response`` object."""
        return response.get("object") == "response"

    def read_answer(self, response: object, settings: SemCacheSettings) -> Answer | Refusal:
        """The storable answer in a ``response``, or why it must not be stored."""
        body = as_mapping(response)
        if body is None or not isinstance(body.get("output"), list):
            return Refusal("unreadable_response")
        if body.get("error"):
            return Refusal("error_response")
        items = [item for item in body["output"] if isinstance(item, Mapping)]
        if len(items) != len(body["output"]):
            return Refusal("unreadable_response")
        kinds = {item.get("type") for item in items}
        if kinds - _KEPT_ITEMS:
            return Refusal("tool_calls")  # function, web search, file search, computer, MCP calls, ...
        if body.get("status") != "completed":
            return Refusal("finish_reason", str(body.get("status")))
        messages = [item for item in items if item.get("type") == "message"]
        if len(messages) != 1:
            return Refusal("not_one_choice")
        parts = messages[0].get("content")
        if not isinstance(parts, list) or not all(isinstance(p, Mapping) for p in parts):
            return Refusal("unreadable_response")
        if any(p.get("type") == "refusal" for p in parts):
            return Refusal("refusal")
        if any(p.get("type") != "output_text" for p in parts):
            return Refusal("non_text_answer")
        text = "".join(str(p.get("text") or "") for p in parts)
        if not text.strip():
            return Refusal("empty_answer")
        return answer_of(body, text, self.name, usage_keys=("input_tokens", "output_tokens"))

    def render(self, answer: Answer) -> dict[str, Any]:
        """The stored ``response`` as it was answered, or one built from the neutral fields."""
        return native_of(answer, self.name) or response_of(answer)

    def render_stream(self, answer: Answer) -> list[str]:
        """The Responses event stream of the rendered response: ``response.created``,
        ``response.in_progress``, each output item (added, its text parts and deltas, done),
        ``response.completed``; every event numbered by ``sequence_number``."""
        response = self.render(answer)
        pending = {**response, "status": "in_progress", "output": [], "usage": None}
        events: list[dict[str, Any]] = [
            {"type": "response.created", "response": pending},
            {"type": "response.in_progress", "response": pending},
        ]
        for index, item in enumerate(response.get("output") or []):
            events += _item_events(index, item)
        events.append({"type": "response.completed", "response": response})
        return [sse_event({**event, "sequence_number": n}, event["type"]) for n, event in enumerate(events)]


def _item_events(index: int, item: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The events of one output item: added, the text parts of a message with their deltas, done."""
    if item.get("type") != "message":
        return [
            {"type": "response.output_item.added", "output_index": index, "item": item},
            {"type": "response.output_item.done", "output_index": index, "item": item},
        ]
    started = {**item, "status": "in_progress", "content": []}
    added = {"type": "response.output_item.added", "output_index": index, "item": started}
    events: list[dict[str, Any]] = [added]
    for part_index, part in enumerate(item.get("content") or []):
        where = {"item_id": item.get("id"), "output_index": index, "content_index": part_index}
        text = str(part.get("text") or "")
        events.append({"type": "response.content_part.added", **where, "part": {**part, "text": ""}})
        events += [
            {"type": "response.output_text.delta", **where, "delta": piece, "logprobs": []}
            for piece in pieces(text)
        ]
        events.append({"type": "response.output_text.done", **where, "text": text, "logprobs": []})
        events.append({"type": "response.content_part.done", **where, "part": part})
    events.append({"type": "response.output_item.done", "output_index": index, "item": item})
    return events
