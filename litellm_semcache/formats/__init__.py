"""API formats, side by side: each reads its API's requests and answers and renders hits in its shape.

Formats are registered by name like any plugin would be; an integration maps its call types to them.
"""

from __future__ import annotations

from .base import Format
from .chat import ChatFormat

__all__ = ["FORMATS", "Format", "get_format"]

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


register(ChatFormat())
