"""Text helpers shared by the formats, the scope and the answers: normalization and canonical JSON."""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

__all__ = ["canonical", "normalize_text"]

_WHITESPACE = re.compile(r"\s+")
_TRAILING_PUNCTUATION = re.compile(r"[\s?!.。？！]+$")


def normalize_text(text: str) -> str:
    """Case, width, whitespace and trailing punctuation do not change a question."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _WHITESPACE.sub(" ", text).strip()
    return _TRAILING_PUNCTUATION.sub("", text)


def canonical(value: object) -> Any:
    """A JSON-stable copy, so equal parameters hash equally whatever their key order."""
    return json.loads(json.dumps(value, sort_keys=True, default=str))
