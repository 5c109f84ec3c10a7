"""``litellm-semcache``: the command line (admin commands and ``calibrate``)."""

from __future__ import annotations

from .main import main

__all__ = ["main"]
