"""API formats, side by side: each reads its API's requests and answers and renders hits in its shape.

Formats are registered by name like any plugin would be; an integration maps its call types to them.
An entry stores its answer format-neutral (text, finish, token counts, model) next to the response as
its API returned it, so an answer given through one API is a hit, in that API's own shape, for the
same question asked through another (text completions excepted: a prompt is continued, not answered,
so their entries only serve each other).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ..settings import SemCacheSettings
from ..types import Answer
from .anthropic_messages import AnthropicMessagesFormat
from .base import Format
from .chat import ChatFormat
from .responses import ResponsesFormat
from .text_completion import TextCompletionFormat

if TYPE_CHECKING:
    from ..store import StoredEntry

__all__ = ["FORMATS", "Format", "format_of_response", "get_format", "register", "stored_answer"]

#: Every known format, by name.
FORMATS: dict[str, Format] = {}


def register(format_: Format) -> Format:
    """Add a format to the registry (third-party formats register the same way)."""
    FORMATS[format_.name] = format_
    return format_


def get_format(name: str) -> Format:
    """The format registered under a name.

    Raises:
        KeyError: no such format.
    """
    return FORMATS[name]


def format_of_response(response: Mapping[str, Any]) -> Format | None:
    """The format whose answer a response body is (the first registered one that recognises it)."""
    return next((f for f in FORMATS.values() if f.recognises(response)), None)


def stored_answer(entry: StoredEntry, settings: SemCacheSettings) -> Answer | None:
    """An entry's answer, format-neutral, ready for any format to render; None when unreadable.

    Entries written before formats shared entries have no neutral fields: their response is a chat
    completion, read here by the chat format.
    """
    answer = entry.answer()
    if answer is not None:
        return answer
    legacy = get_format("chat").read_answer(entry.response, settings)
    if not isinstance(legacy, Answer):
        return None
    return replace(legacy, created_at=entry.created_at, answer_id=entry.answer_id or legacy.answer_id)


register(ChatFormat())
register(TextCompletionFormat())
register(AnthropicMessagesFormat())
register(ResponsesFormat())
