"""Text helpers shared by the formats, the scope and the answers: normalization and canonical JSON."""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

__all__ = ["canonical", "exact_text", "normalize_text"]

_WHITESPACE = re.compile(r"\s+")
_TRAILING_PUNCTUATION = re.compile(r"[\s?!.。？！]+$")


def exact_text(text: str) -> str:
    """The text as sent, with only changes that cannot alter its meaning: the outer whitespace, and
    canonical Unicode composition (NFC keeps superscripts, case, punctuation and inner whitespace:
    "2³" is not "23", "5 MW" is not "5 mW", "What is 5!" is not "What is 5", indentation is kept)."""
    return unicodedata.normalize("NFC", text).strip()


def normalize_text(text: str) -> str:
    """Case, width, whitespace and trailing punctuation folded: only for telling equal *answers* apart
    (the answer vote), never for deciding that two questions are the same."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _WHITESPACE.sub(" ", text).strip()
    return _TRAILING_PUNCTUATION.sub("", text)


def canonical(value: object) -> Any:
    """A JSON-stable copy, so equal parameters hash equally whatever their key order."""
    return json.loads(json.dumps(value, sort_keys=True, default=str))
