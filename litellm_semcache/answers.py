"""The write path's gate: only complete answers are stored.

A stored answer is served to other people, so it must be one the model finished on purpose: a single
choice, finish reason ``stop`` (or the provider's equivalent), non-empty text. Truncated (``length``),
filtered (``content_filter``), empty, errored or cut-off answers are refused with a reason.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .request import normalize_text

__all__ = ["Answer", "Refusal", "read_answer"]

_COMPLETE_FINISH_REASONS = frozenset({"stop", "end_turn", "stop_sequence", "eos"})
_TOOL_FINISH_REASONS = frozenset({"tool_calls", "function_call", "tool_use"})


@dataclass(frozen=True)
class Answer:
    """A storable completion."""

    response_json: str
    text: str
    model: str
    completion_tokens: int | None

    @property
    def answer_id(self) -> str:
        """Equal answers (after normalization) have equal ids."""
        material = normalize_text(self.text) if self.text else self.response_json
        return hashlib.sha256(material.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class Refusal:
    """Why a completion is not stored."""

    reason: str


def _as_dict(value: object) -> Mapping[str, Any] | None:
    """LiteLLM hands the cache ``{"timestamp": ..., "response": <json str>}``; accept the inner forms too."""
    if isinstance(value, Mapping) and "response" in value and "choices" not in value:
        value = value["response"]
    if isinstance(value, (bytes, str)):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        value = dump()
    return value if isinstance(value, Mapping) else None


def read_answer(value: object, *, allow_tool_calls: bool = False) -> Answer | Refusal:
    """The storable answer in what LiteLLM asks the cache to store, or why it must not be stored."""
    response = _as_dict(value)
    if response is None:
        return Refusal("unreadable_response")
    if response.get("error"):
        return Refusal("error_response")
    choices = response.get("choices")
    if not isinstance(choices, list) or len(choices) != 1 or not isinstance(choices[0], Mapping):
        return Refusal("not_one_choice")
    choice = choices[0]
    message = choice.get("message")
    if not isinstance(message, Mapping):
        return Refusal("no_message")
    finish_reason = choice.get("finish_reason")
    has_tool_calls = bool(message.get("tool_calls") or message.get("function_call"))
    if has_tool_calls and not allow_tool_calls:
        return Refusal("tool_calls")
    allowed = _COMPLETE_FINISH_REASONS | (_TOOL_FINISH_REASONS if allow_tool_calls else frozenset())
    if finish_reason not in allowed:
        return Refusal(f"finish_reason:{finish_reason}")
    content = message.get("content")
    text = content if isinstance(content, str) else ""
    if not text.strip() and not has_tool_calls:
        return Refusal("empty_answer")
    usage = response.get("usage")
    tokens = usage.get("completion_tokens") if isinstance(usage, Mapping) else None
    return Answer(
        response_json=json.dumps(response, ensure_ascii=False, separators=(",", ":"), default=str),
        text=text,
        model=str(response.get("model") or ""),
        completion_tokens=tokens if isinstance(tokens, int) else None,
    )
