"""The interface every API format implements, and the helpers they share.

A format reads a request body into a :class:`~litellm_semcache.types.ParsedQuery` (or says why the cache
cannot handle it), reads a provider's answer into a storable :class:`~litellm_semcache.types.Answer` (or
says why it must not be stored), and renders a stored answer as that API's response or event stream.
Formats know their API's wire JSON and nothing else: not LiteLLM, not Redis.

Answers are stored format-neutral (text, finish, token counts, model) next to the response as its API
returned it, so one entry serves every format: a hit in the format the answer came in returns that
response unchanged, a hit in another format is rendered from the neutral fields.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from ..settings import SemCacheSettings
from ..text import canonical, normalize_text
from ..types import Answer, Finish, ParsedQuery, Refusal, Skip

__all__ = [
    "answer_of",
    "SAMPLING",
    "Format",
    "answer_id",
    "as_mapping",
    "count",
    "created_of",
    "json_text",
    "native_of",
    "number",
    "openai_usage",
    "pieces",
    "positive_int",
    "sampling_of",
    "scoped_params",
    "sse_data",
    "sse_event",
]


class Format(Protocol):
    """One API's request and response shapes."""

    name: str
    """Registry name, e.g. ``chat``."""

    def size(self, body: Mapping[str, Any]) -> int:
        """Characters of the body's text, cheaply: large requests are prepared off the event loop."""
        ...

    def accepts(self, body: Mapping[str, Any]) -> bool:
        """Whether a request body has this API's shape (its prompt field), cheaply; no validation."""
        ...

    def parse(self, body: Mapping[str, Any], settings: SemCacheSettings) -> ParsedQuery | Skip:
        """The question and what must match exactly, or why the cache stays out. Never raises."""
        ...

    def recognises(self, response: Mapping[str, Any]) -> bool:
        """Whether a response body is this API's answer (so :meth:`read_answer` is the one to read it)."""
        ...

    def read_answer(self, response: object, settings: SemCacheSettings) -> Answer | Refusal:
        """A complete answer worth storing, or why not. Never raises."""
        ...

    def render(self, answer: Answer) -> dict[str, Any]:
        """A stored answer as this API's response: the stored response unchanged when it was answered in
        this format, else built from the neutral fields."""
        ...

    def render_stream(self, answer: Answer) -> list[str]:
        """A stored answer as this API's event stream: the server-sent events, one text per event."""
        ...


#: Sampling parameters the envelope and the ``max_temperature`` rule look at, when a format has them.
SAMPLING = (
    "temperature",
    "top_p",
    "seed",
    "top_k",
    "presence_penalty",
    "frequency_penalty",
    "repetition_penalty",
    "min_p",
)


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


def answer_of(
    response: Mapping[str, Any],
    text: str,
    format_name: str,
    *,
    usage_keys: tuple[str, str],
    prompt_tokens: int | None = None,
    finish: Finish = "stop",
) -> Answer:
    """A complete answer read from an API's response: its text, model, token counts (``usage_keys``:
    the prompt and completion keys of the API's ``usage``) and the response itself as JSON."""
    raw_usage = response.get("usage")
    usage: Mapping[str, Any] = raw_usage if isinstance(raw_usage, Mapping) else {}
    native = json_text(response)
    return Answer(
        text=text,
        model=str(response.get("model") or ""),
        completion_tokens=count(usage.get(usage_keys[1])),
        native=native,
        answer_id=answer_id(text, native),
        prompt_tokens=prompt_tokens if prompt_tokens is not None else count(usage.get(usage_keys[0])),
        finish=finish,
        format=format_name,
    )


def positive_int(value: object) -> int | None:
    """An integer above 0, else None (booleans are not integers here)."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def number(value: object) -> float | None:
    """A JSON number as a float, else None (booleans are not numbers here)."""
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def count(value: object) -> int | None:
    """A token count (an integer of at least 0), else None."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def sampling_of(body: Mapping[str, Any], settings: SemCacheSettings) -> dict[str, float]:
    """The sampling parameters a request set, as numbers (the envelope's forbidden ones included)."""
    names = dict.fromkeys([*SAMPLING, *settings.sampling_envelope.forbidden])
    values = {name: number(body.get(name)) for name in names}
    return {name: value for name, value in values.items() if value is not None}


def scoped_params(
    body: Mapping[str, Any], settings: SemCacheSettings, extra: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The answer-shaping parameters that must be equal (``scoped_params``, and with
    ``temperature_policy: scope`` temperature and top_p), canonical; ``extra`` adds a format's own."""
    names = list(settings.scoped_params)
    if settings.temperature_policy == "scope":
        names += ["temperature", "top_p"]
    params = {name: canonical(body[name]) for name in set(names) if body.get(name) is not None}
    params.update({name: canonical(value) for name, value in (extra or {}).items() if value is not None})
    return dict(sorted(params.items()))


_PIECE = re.compile(r"\S+\s*")  # not r"\s*\S+\s*": that retried every position of a long blank run


def pieces(text: str) -> list[str]:
    """A text in word-sized pieces for a replayed stream; joined they give the text back exactly."""
    found: list[str] = _PIECE.findall(text)
    if not found:
        return [text] if text else []
    found[0] = text[: len(text) - len(text.lstrip())] + found[0]  # leading blanks open the first piece
    return found


def sse_event(data: Mapping[str, Any], event: str | None = None) -> str:
    """One server-sent event: ``event: <name>`` (when named) and ``data: <json>``, blank-line terminated."""
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data, ensure_ascii=False, separators=(',', ':'))}\n\n"


def sse_data(events: Iterable[str]) -> list[Mapping[str, Any]]:
    """The JSON ``data`` of server-sent events (texts of one or more events), in order; other lines and
    ``[DONE]`` are skipped."""
    found: list[Mapping[str, Any]] = []
    for event in events:
        for line in event.splitlines():
            if not line.startswith("data:"):
                continue
            payload = as_mapping(line[len("data:") :].strip())
            if payload is not None:
                found.append(payload)
    return found


def created_of(answer: Answer) -> int:
    """Unix time a rendered response says it was created: when the answer was stored, else now."""
    return int(answer.created_at) if answer.created_at else int(time.time())


def openai_usage(answer: Answer) -> dict[str, int]:
    """The ``usage`` of an OpenAI chat or text completion rendered from an answer."""
    prompt, completion = answer.prompt_tokens or 0, answer.completion_tokens or 0
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def native_of(answer: Answer, format_name: str) -> dict[str, Any] | None:
    """The stored response, when it is in this format and readable."""
    if answer.format != format_name:
        return None
    native = as_mapping(answer.native)
    return dict(native) if native is not None else None
