"""LiteLLM's per-request cache controls: the ``cache`` field of a request (and its ``ttl`` kwarg), or the
``x-semcache-control`` header.

``no-cache`` and ``no-store`` are applied by LiteLLM itself; the ones read here are ``ttl``,
``s-maxage``, ``namespace`` and this plugin's ``similarity-threshold`` and ``mode`` (``shadow`` or
``off``: a request may only be handled more carefully than its deployment says). The proxy accepts the
``cache`` field on every API (chat and text completions, ``/v1/messages``, ``/v1/responses``) and never
sends it to the provider; the header carries the same controls for clients that cannot add a field to the
body (Claude Code, Agents SDK apps): ``x-semcache-control: no-store, ttl=600, namespace=support``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ...types import Controls, Mode

__all__ = [
    "CONTROL_HEADER",
    "cache_controls",
    "controls_of",
    "header_controls",
    "max_age",
    "parse_control_header",
    "requested_mode",
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
    ttl = kwargs.get("ttl")
    if ttl is not None and not (_is_number(ttl) and ttl >= 1):
        raise ValueError(f"ttl must be a number of seconds of at least 1, got {ttl!r}")
    _validate(raw or {}, "cache")


def _validate(controls: Mapping[str, Any], label: str) -> None:
    """Check one set of controls; ``label`` (``cache`` or the header's name) prefixes the message."""
    for flag in _FLAGS:
        if flag in controls and not isinstance(controls[flag], bool):
            raise ValueError(f"{label}.{flag} must be true or false, got {controls[flag]!r}")
    value = controls.get("ttl")
    if value is not None and not (_is_number(value) and value >= 1):
        raise ValueError(f"{label}.ttl must be a number of seconds of at least 1, got {value!r}")
    for name in ("s-maxage", "s-max-age"):
        value = controls.get(name)
        if value is not None and not (_is_number(value) and value >= 0):
            raise ValueError(f"{label}.{name} must be a number of seconds of at least 0, got {value!r}")
    namespace = controls.get("namespace")
    if namespace is not None and (
        not isinstance(namespace, str) or not 0 < len(namespace) <= _MAX_NAMESPACE_CHARS
    ):
        raise ValueError(f"{label}.namespace must be a string of 1 to {_MAX_NAMESPACE_CHARS} characters")
    try:
        requested_threshold(controls)
        requested_mode(controls)
    except ValueError as exc:
        raise ValueError(str(exc).replace("cache.", f"{label}.", 1)) from None


#: Request header carrying the cache controls, for clients that cannot add a ``cache`` field.
CONTROL_HEADER = "x-semcache-control"
_HEADER_NUMBERS = frozenset({"ttl", "s-maxage", "s-max-age", "similarity-threshold"})
_HEADER_TEXTS = frozenset({"namespace", "mode"})


def _header_value(raw: str) -> object:
    """A directive's value: a number when it reads as one, else the text (validated afterwards)."""
    try:
        value = float(raw)
    except ValueError:
        return raw
    return int(value) if value.is_integer() and "." not in raw and "e" not in raw.lower() else value


def parse_control_header(value: str) -> dict[str, Any]:
    """The controls in an ``x-semcache-control`` header, as a ``cache`` object: comma-separated
    directives, flags bare (``no-cache``, ``no-store``, or ``no-store=false``) and the rest as
    ``name=value`` (``ttl=600``, ``s-maxage=60``, ``namespace=support``, ``similarity-threshold=0.9``).

    Raises:
        ValueError: an unknown directive, or a malformed value; the message names it.
    """
    controls: dict[str, Any] = {}
    for directive in value.split(","):
        name, has_value, raw = (part.strip() for part in directive.partition("="))
        name, raw = name.lower(), raw.strip('"')
        if not name:
            continue
        if name in _FLAGS:
            if has_value and raw.lower() not in ("true", "false"):
                raise ValueError(f"{CONTROL_HEADER}: {name} takes no value or true/false, got {raw!r}")
            controls[name] = not has_value or raw.lower() == "true"
        elif name in _HEADER_NUMBERS or name in _HEADER_TEXTS:
            if not has_value or not raw:
                raise ValueError(f"{CONTROL_HEADER}: {name} needs a value ({name}=...)")
            controls[name] = raw if name in _HEADER_TEXTS else _header_value(raw)
        else:
            raise ValueError(f"{CONTROL_HEADER}: unknown directive {name!r}")
    _validate(controls, CONTROL_HEADER)
    return controls


def header_controls(data: Mapping[str, Any]) -> dict[str, Any]:
    """The controls of the proxied request's ``x-semcache-control`` header; empty without one.

    Raises:
        ValueError: the header is malformed.
    """
    request = data.get("proxy_server_request")
    headers = request.get("headers") if isinstance(request, Mapping) else None
    if not isinstance(headers, Mapping):
        return {}
    value = next((v for k, v in headers.items() if str(k).lower() == CONTROL_HEADER), None)
    return parse_control_header(str(value)) if value else {}


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


_MODES: dict[str, Mode] = {"off": "off", "shadow": "shadow", "serve": "serve"}


def requested_mode(controls: Mapping[str, Any]) -> Mode | None:
    """A per-request mode, ``cache: {"mode": "shadow"}``.

    Raises:
        ValueError: the value is not one of ``off``, ``shadow``, ``serve``.
    """
    value = controls.get("mode")
    if value is None:
        return None
    if not isinstance(value, str) or value not in _MODES:
        raise ValueError(f"cache.mode must be one of off, shadow, serve, got {value!r}")
    return _MODES[value]


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
    try:
        mode = requested_mode(controls)
    except ValueError:
        mode = None
    namespace = controls.get("namespace")
    return Controls(
        namespace=str(namespace) if namespace else None,
        threshold=threshold,
        max_age_seconds=max_age(controls),
        ttl_seconds=ttl_seconds(kwargs),
        mode=mode,
    )
