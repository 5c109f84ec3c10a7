"""LiteLLM's per-request cache controls: the ``cache`` field of a request (and its ``ttl`` kwarg).

``no-cache`` and ``no-store`` are applied by LiteLLM itself; the ones read here are ``ttl``,
``s-maxage``, ``namespace`` and this plugin's ``similarity-threshold``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ...types import Controls

__all__ = [
    "cache_controls",
    "controls_of",
    "max_age",
    "requested_threshold",
    "ttl_seconds",
    "validate_controls",
]

_FLAGS = ("no-cache", "no-store")
_MAX_NAMESPACE_CHARS = 128


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def validate_controls(kwargs: Mapping[str, Any]) -> None:
    """Check a request's cache controls, so a bad one gets a clear answer instead of an internal error.

    Raises:
        ValueError: a control is malformed; the message names it and says what is expected.
    """
    raw = kwargs.get("cache")
    if raw is not None and not isinstance(raw, Mapping):
        raise ValueError(f'cache must be an object such as {{"no-cache": true}}, got {type(raw).__name__}')
    controls: Mapping[str, Any] = raw or {}
    for flag in _FLAGS:
        if flag in controls and not isinstance(controls[flag], bool):
            raise ValueError(f"cache.{flag} must be true or false, got {controls[flag]!r}")
    for name, value in (("cache.ttl", controls.get("ttl")), ("ttl", kwargs.get("ttl"))):
        if value is not None and not (_is_number(value) and value >= 1):
            raise ValueError(f"{name} must be a number of seconds of at least 1, got {value!r}")
    for name in ("s-maxage", "s-max-age"):
        value = controls.get(name)
        if value is not None and not (_is_number(value) and value >= 0):
            raise ValueError(f"cache.{name} must be a number of seconds of at least 0, got {value!r}")
    namespace = controls.get("namespace")
    if namespace is not None and (
        not isinstance(namespace, str) or not 0 < len(namespace) <= _MAX_NAMESPACE_CHARS
    ):
        raise ValueError(f"cache.namespace must be a string of 1 to {_MAX_NAMESPACE_CHARS} characters")
    requested_threshold(controls)


def cache_controls(kwargs: Mapping[str, Any]) -> Mapping[str, Any]:
    """The request's ``cache`` field (LiteLLM's per-request cache controls)."""
    controls = kwargs.get("cache")
    return controls if isinstance(controls, Mapping) else {}


def requested_threshold(controls: Mapping[str, Any]) -> float | None:
    """A per-request similarity threshold, ``cache: {"similarity-threshold": 0.95}``.

    Raises:
        ValueError: the value is not a number between 0 and 1.
    """
    for name in ("similarity-threshold", "similarity_threshold"):
        if name in controls and controls[name] is not None:
            value = controls[name]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
                raise ValueError(f"cache.{name} must be a number between 0 and 1, got {value!r}")
            return float(value)
    return None


def max_age(controls: Mapping[str, Any]) -> float | None:
    """``s-maxage``: only entries younger than this many seconds may serve the request."""
    for name in ("s-maxage", "s-max-age"):
        value = controls.get(name)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
            return float(value)
    return None


def ttl_seconds(kwargs: Mapping[str, Any]) -> int | None:
    """Lifetime of the entry a request stores: its ``ttl`` (a LiteLLM kwarg) or ``cache.ttl``, in whole
    seconds; None when absent or unusable (the setting's default applies; the proxy answers an unusable
    one with 400 before this runs)."""
    value = kwargs.get("ttl")
    if value is None:
        value = cache_controls(kwargs).get("ttl")
    if not isinstance(value, (int, float)) or not _is_number(value) or value < 1:
        return None
    return int(min(value, 2**31 - 1))


def controls_of(kwargs: Mapping[str, Any]) -> Controls:
    """The request's controls; an invalid threshold is ignored here (the proxy hook answers it with 400)."""
    controls = cache_controls(kwargs)
    try:
        threshold = requested_threshold(controls)
    except ValueError:
        threshold = None
    namespace = controls.get("namespace")
    return Controls(
        namespace=str(namespace) if namespace else None,
        threshold=threshold,
        max_age_seconds=max_age(controls),
        ttl_seconds=ttl_seconds(kwargs),
    )
