"""The interface every API format implements, and the helpers they share.

A format reads a request body into a :class:`~litellm_semcache.types.ParsedQuery` (or says why the cache
cannot handle it), reads a provider's answer into a storable :class:`~litellm_semcache.types.Answer` (or
says why it must not be stored), and renders a stored answer as that API's response. Formats know their
API's wire JSON and nothing else: not LiteLLM, not Redis.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any, Protocol

from ..settings import SemCacheSettings
from ..text import normalize_text
from ..types import Answer, ParsedQuery, Refusal, Skip

__all__ = ["Format", "answer_id", "as_mapping", "json_text"]


class Format(Protocol):
    """One API's request and response shapes."""

    name: str
    """Registry name, e.g. ``chat``."""

    def size(self, body: Mapping[str, Any]) -> int:
        """Characters of the body's text, cheaply: large requests are prepared off the event loop."""
        ...

    def parse(self, body: Mapping[str, Any], settings: SemCacheSettings) -> ParsedQuery | Skip:
        """The question and what must match exactly, or why the cache stays out. Never raises."""
        ...

    def read_answer(self, response: object, settings: SemCacheSettings) -> Answer | Refusal:
        """A complete answer worth storing, or why not. Never raises."""
        ...

    def render(self, stored: str) -> Mapping[str, Any]:
        """A stored answer (its wire JSON) as this API's response."""
        ...


def as_mapping(value: object) -> Mapping[str, Any] | None:
    """A JSON object from a mapping, JSON text or a pydantic model; None for anything else."""
    if isinstance(value, (bytes, str)):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    dump = getattr(value, "model_dump", None)  # SDK callers may pass pydantic objects
    if callable(dump):
        value = dump()
    return value if isinstance(value, Mapping) else None


def json_text(value: Mapping[str, Any]) -> str:
    """Compact JSON, as answers are stored."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def answer_id(text: str, fallback: str) -> str:
    """Equal answers (after normalization) have equal ids; ``fallback`` identifies answers with no text."""
    material = normalize_text(text) if text else fallback
    return hashlib.sha256(material.encode("utf-8")).hexdigest()[:16]
