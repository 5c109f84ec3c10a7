"""The LiteLLM cache backend: LiteLLM's ``BaseCache`` calls, translated to the pipeline's.

LiteLLM calls ``async_get_cache`` before a call and ``async_set_cache`` (as a background task) after
one, for every call type the cache is installed for: chat and text completions, Anthropic
``/v1/messages`` and OpenAI ``/v1/responses``. Each request is prepared once (format, admission,
scope): the pre-call hook or the lookup prepares it and leaves a random token in the request's metadata,
and the store finds the same request by that token. Nothing here raises into LiteLLM.

**What LiteLLM does with a cached value, per API** (read from ``litellm/caching/caching_handler.py``,
LiteLLM 1.108), and so what a hit is returned as:

- chat completions: a ``chat.completion``; LiteLLM replays it as chunks for ``stream: true``;
- Responses: a ``response``; LiteLLM replays it as the Responses event stream for ``stream: true``
  (``CachedResponsesAPIStreamingIterator``);
- Messages: a ``message`` is returned as is, also to ``stream: true`` requests: LiteLLM only replays a
  stream when the value holds the stream's own events (``litellm_cached_anthropic_sse_events``, what it
  stores for a streamed miss). So for a streamed Messages request the plugin renders the Messages event
  stream itself (``message_start`` ... ``message_stop``) and returns it under that key;
- text completions: a ``text_completion`` for plain requests; a streamed one is replayed from a
  ``chat.completion`` (LiteLLM's replay reads ``message``, and stores a streamed miss as one too), so
  that is what a streamed text completion hit gets.

**Calls inside calls.** The proxy answers ``/v1/messages`` for an OpenAI model by calling the Responses
API, and ``/v1/responses`` for an Anthropic model by calling chat completions; each inner call goes
through the cache too, with the outer request's metadata. The request is served once: its first lookup
decides (an inner call's prompt is another object: its lookup is left alone, so a miss is counted once
and an inner hit never answers half a request), and the first complete answer stored for it, inner or
outer, is its entry (the others are the same answer in another API's shape).

**Shadow mode and audits.** A lookup in shadow mode returns no hit to LiteLLM, so the request goes to the
provider; the would-be entry is remembered with the request, and the store path compares the provider's
fresh answer with it instead of storing (a would-be hit stores nothing, as a served hit would not). A
sampled share of served hits is audited: once the cached answer is on its way, the request is re-sent
through LiteLLM in the background (``audits.py``) and the two answers compared; a disagreeing entry is
deleted.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Coroutine, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from litellm.caching.base_cache import BaseCache

from ...embedding import Embedder
from ...errors import SemCacheError
from ...formats import Format, format_of_response, get_format, stored_answer
from ...formats.base import as_mapping, json_text
from ...formats.responses import CACHED_RESPONSE_PREFIX
from ...pipeline import Pipeline, Prepared
from ...settings import SemCacheSettings
from ...store import RedisStore, StoredEntry
from ...types import Answer, Outcome, Refusal
from .audits import audit_kwargs, resend, usage_of
from .continuations import hit_record
from .controls import controls_of
from .pricing import litellm_pricer
from .requests import format_name_of, identity_of, metadata_holder, prompt_of

__all__ = ["PREPARED_KEY", "STATUS_KEY", "SemanticCacheBackend", "cached_payload", "status_of"]

logger = logging.getLogger("litellm_semcache")

_T = TypeVar("_T")

#: Request-metadata key where a lookup leaves its outcome (the plugin turns it into response headers).
STATUS_KEY = "semcache"
#: Request-metadata key holding the token of the request's prepared form (never its content).
PREPARED_KEY = "semcache_prepared"
#: Where LiteLLM keeps a Messages stream's events in a cached value (``litellm.types.caching``).
STREAM_EVENTS_KEY = "litellm_cached_anthropic_sse_events"

_PREPARED_MAX = 10_000
_INLINE_PREPARE_CHARS = 20_000
_PREPARED_TTL_SECONDS = 600.0


def status_of(found: Outcome) -> dict[str, Any]:
    """What the response headers tell a client about the cache's decision (in shadow mode: ``shadow``,
    and what it would have done, ``hit:semantic`` or ``miss:below_threshold``)."""
    if found.mode == "shadow":
        status: dict[str, Any] = {"status": "shadow", "reason": f"{found.status}:{found.reason_text}"}
    else:
        status = {"status": found.status, "reason": found.reason_text}
    status["policy"] = found.policy
    if found.entry is not None and found.mode == "serve":
        status["entry_id"] = found.entry.id
    if found.score is not None:
        status["verifier_score"] = round(found.score, 4)
    if found.class_probability is not None:
        status["class_probability"] = round(found.class_probability, 4)
    return status


def cached_payload(value: object) -> object:
    """The response inside LiteLLM's stored-cache value ``{"timestamp", "response"}``."""
    if isinstance(value, Mapping) and "response" in value and "choices" not in value:
        return value["response"]
    return value


@dataclass
class _Tracked:
    """A request as the backend knows it between its lookup and its store."""

    prepared: Prepared | Outcome | None
    """None once stored: the request's text is not kept longer than needed (prepared again if asked)."""
    format_name: str
    looked_up: int | None = None
    """``id()`` of the prompt object the request was looked up with (see "calls inside calls")."""
    stored: bool = False
    would_be: StoredEntry | None = None
    """Shadow mode: the entry the cache would have served; the fresh answer is compared with it."""


class _TrackedRequests:
    """Requests by token, bounded in size and age (a request that never stores is forgotten)."""

    def __init__(self) -> None:
        self._items: OrderedDict[str, tuple[float, _Tracked]] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, tracked: _Tracked) -> str:
        token = secrets.token_hex(16)
        now = time.monotonic()
        with self._lock:
            self._items[token] = (now, tracked)
            while self._items and (
                len(self._items) > _PREPARED_MAX
                or now - next(iter(self._items.values()))[0] > _PREPARED_TTL_SECONDS
            ):
                self._items.popitem(last=False)
        return token

    def get(self, token: object) -> _Tracked | None:
        if not isinstance(token, str):
            return None
        with self._lock:
            item = self._items.get(token)
        return item[1] if item is not None else None

    def discard(self, token: object) -> None:
        if isinstance(token, str):
            with self._lock:
                self._items.pop(token, None)


class SemanticCacheBackend(BaseCache):
    """A LiteLLM ``BaseCache`` that finds answers by meaning: the pipeline behind LiteLLM's cache calls."""

    def __init__(
        self,
        settings: SemCacheSettings,
        *,
        redis_url: str,
        embedder: Embedder | None = None,
        store: RedisStore | None = None,
    ) -> None:
        super().__init__(default_ttl=settings.ttl_seconds)
        self.pipeline = Pipeline(
            settings, redis_url=redis_url, embedder=embedder, store=store, pricer=litellm_pricer
        )
        self.settings = settings
        self.embedder = self.pipeline.embedder
        self.store = self.pipeline.entries
        self.metrics = self.pipeline.metrics
        self._tracked = _TrackedRequests()
        self._sync_loop: asyncio.AbstractEventLoop | None = None
        self._sync_lock = threading.Lock()

    # --- shared steps -----------------------------------------------------------------------------------
    def track(self, kwargs: Mapping[str, Any], call_type: str | None = None) -> _Tracked:
        """The request as the backend knows it: prepared on first use, then found by the token in its
        metadata. ``call_type`` (from the proxy's hook) names its API; without it, LiteLLM's logging
        object or the body's shape does."""
        holder = metadata_holder(kwargs)
        known = self._tracked.get(holder.get(PREPARED_KEY)) if holder is not None else None
        if known is not None and known.prepared is not None:
            return known
        name = known.format_name if known is not None else format_name_of(kwargs, call_type)
        prepared: Prepared | Outcome
        if name is None:
            prepared = Outcome("skipped", "no_messages")
        else:
            prepared = self.pipeline.prepare(
                get_format(name),
                kwargs,
                identity=identity_of(kwargs),
                controls=controls_of(kwargs),
                model=str(kwargs.get("model") or ""),
                provider=kwargs.get("custom_llm_provider"),
            )
        if known is not None:  # stored already, asked again: prepared again, still stored
            known.prepared = prepared
            return known
        tracked = _Tracked(prepared, name or "chat")
        if holder is not None:
            holder[PREPARED_KEY] = self._tracked.put(tracked)
        return tracked

    async def atrack(self, kwargs: Mapping[str, Any], call_type: str | None = None) -> _Tracked:
        """:meth:`track`, in a worker thread when the request is large (the never-cache patterns on a
        megabyte prompt take seconds: the event loop, and every other request, must not wait for them)."""
        name = format_name_of(kwargs, call_type)
        if name is not None and get_format(name).size(kwargs) > _INLINE_PREPARE_CHARS:
            return await asyncio.to_thread(self.track, kwargs, call_type)
        return self.track(kwargs, call_type)

    def prepare(self, kwargs: Mapping[str, Any], call_type: str | None = None) -> Prepared | Outcome:
        """The request's prepared form (see :meth:`track`)."""
        return _prepared_of(self.track(kwargs, call_type))

    async def aprepare(self, kwargs: Mapping[str, Any], call_type: str | None = None) -> Prepared | Outcome:
        """:meth:`prepare`, off the event loop for large requests."""
        return _prepared_of(await self.atrack(kwargs, call_type))

    def forget(self, kwargs: Mapping[str, Any]) -> None:
        """Drop a request's prepared form."""
        holder = metadata_holder(kwargs)
        if holder is not None:
            self._tracked.discard(holder.get(PREPARED_KEY))

    def record(self, found: Outcome, kwargs: Mapping[str, Any]) -> None:
        """Count an outcome and leave it in the request's metadata for the response headers."""
        holder = metadata_holder(kwargs)
        if holder is not None:
            holder[STATUS_KEY] = status_of(found)
        prepared = self.prepare(kwargs)
        self.pipeline.record(found, prepared if isinstance(prepared, Prepared) else None)

    def is_text_completion_hit(self, kwargs: Mapping[str, Any]) -> bool:
        """Whether a request is a text completion this cache answered (see the streaming hook)."""
        holder = metadata_holder(kwargs)
        if holder is None:
            return False
        status, tracked = holder.get(STATUS_KEY), self._tracked.get(holder.get(PREPARED_KEY))
        return (
            isinstance(status, dict)
            and status.get("status") == "hit"
            and tracked is not None
            and tracked.format_name == "text_completion"
        )

    # --- lookup -------------------------------------------------------------------------------------------
    async def lookup(self, kwargs: Mapping[str, Any]) -> Outcome:
        """Find a stored answer for a request, and count the outcome. Never raises."""
        started = time.perf_counter()
        prepared = await self.aprepare(kwargs)
        prepare_ms = (time.perf_counter() - started) * 1000.0
        found = await self.pipeline.lookup(prepared)
        holder = metadata_holder(kwargs)
        if holder is not None:
            holder[STATUS_KEY] = status_of(found)
        if found.timings:
            found = replace(found, timings={"prepare": prepare_ms, **found.timings})
            if holder is not None:
                holder[STATUS_KEY]["timings"] = {k: round(v, 3) for k, v in found.timings.items()}
        return found

    def _inner_call(self, tracked: _Tracked, kwargs: Mapping[str, Any]) -> bool:
        """Whether this lookup is a call LiteLLM makes inside the request (another prompt object than the
        one the request was looked up with); the first lookup marks the request's own."""
        prompt = id(prompt_of(kwargs))
        if tracked.looked_up is None:
            tracked.looked_up = prompt
            return False
        return tracked.looked_up != prompt

    async def async_get_cache(self, key: str, **kwargs: Any) -> Any:
        """LiteLLM's read: the stored answer in the request's API format, in LiteLLM's cache format
        (``{"timestamp", "response"}``), or None."""
        tracked = await self.atrack(kwargs)
        if self._inner_call(tracked, kwargs):
            return None
        found = await self.lookup(kwargs)
        logger.debug(
            "litellm-semcache: %s (%s, similarity %.3f)", found.status, found.reason_text, found.similarity
        )
        if found.mode == "shadow":
            tracked.would_be = found.entry  # the provider answers; the store path compares
            return None
        if found.entry is None:
            return None
        answer = stored_answer(found.entry, self.settings)
        if answer is None:
            return None
        format_ = get_format(tracked.format_name)
        if answer.finish == "tool_calls" and answer.format != format_.name:
            return None  # tool calls only replay in their own API (their tools are in the scope anyway)
        holder = metadata_holder(kwargs)
        if holder is not None:
            holder["semantic-similarity"] = round(found.similarity, 4)
        response = _for_litellm(format_, answer, stream=kwargs.get("stream") is True)
        if format_.name == "responses" and answer.format != format_.name:
            tenant = tracked.prepared.scope.tenant if isinstance(tracked.prepared, Prepared) else ""
            response = await self._continuable(response, hit_record(kwargs, answer.text, tenant))
        if self.pipeline.auditor.sample():
            self._audit_later(found.entry, tracked.format_name, kwargs)
        return {"timestamp": found.entry.created_at, "response": json_text(response)}

    # --- audits -------------------------------------------------------------------------------------------
    def _audit_later(self, entry: StoredEntry, format_name: str, kwargs: Mapping[str, Any]) -> None:
        """Audit a served hit in the background (the kwargs are copied now: LiteLLM goes on with them)."""
        call = audit_kwargs(kwargs, format_name)
        provider = kwargs.get("custom_llm_provider")
        if not self.pipeline.auditor.launch(self.audit(entry, format_name, call, provider)):
            self.metrics.audit("skipped_busy")

    async def audit(
        self, entry: StoredEntry, format_name: str, call: Mapping[str, Any], provider: str | None = None
    ) -> None:
        """Ask the provider the hit's question again and compare its answer with the entry's; a
        disagreement deletes the entry. ``call``: kwargs from :func:`audits.audit_kwargs`."""
        try:
            response = await asyncio.wait_for(resend(format_name, call), self.settings.audit_timeout_seconds)
        except Exception as exc:  # the type only: the message may quote the request or its key
            self.pipeline.warnings.warn(
                "audit", "litellm-semcache: an audit's provider call failed: %s", type(exc).__name__
            )
            await self.pipeline.audited(entry, None)
            return
        read = _read_answer(response, self.settings) if response is not None else None
        await self.pipeline.audited(
            entry,
            read if read is not None else Refusal("unreadable_response"),
            tokens=usage_of(response),
            model=str(call.get("model") or ""),
            provider=provider if isinstance(provider, str) else None,
        )

    async def _continuable(self, response: Mapping[str, Any], record: Mapping[str, Any]) -> dict[str, Any]:
        """A Responses hit built from another API's answer, with an id of the cache's own and a record
        of what a follow-up naming it continues (the provider never saw it; see ``continuations.py``)."""
        response_id = CACHED_RESPONSE_PREFIX + secrets.token_hex(16)
        ttl = min(self.settings.ttl_seconds, self.settings.max_ttl_seconds)
        try:
            await self.store.put_continuation(response_id, json_text(record), ttl)
        except (SemCacheError, asyncio.TimeoutError):  # the hit is still served; a follow-up gets a 400
            self.pipeline.warnings.warn(
                "continuation", "litellm-semcache: could not record a Responses hit for its follow-ups"
            )
        return {**response, "id": response_id}

    async def continuation(self, response_id: str) -> dict[str, Any] | None:
        """What a follow-up naming a cached response continues; None when unknown or expired.

        Raises:
            BackendUnavailable: Redis did not answer.
        """
        record = as_mapping(await self.store.get_continuation(response_id))
        return dict(record) if record is not None else None

    # --- store --------------------------------------------------------------------------------------------
    async def store_answer(self, value: Any, kwargs: Mapping[str, Any]) -> str | None:
        """Store a completed answer for a request; returns the entry id, or None when not stored."""
        tracked = await self.atrack(kwargs)
        prepared = tracked.prepared
        if tracked.stored or not isinstance(prepared, Prepared):
            return None
        read = _read_answer(cached_payload(value), self.settings)
        if tracked.would_be is not None:  # shadow mode: compared with the would-be hit, never stored
            tracked.stored, tracked.prepared = True, None
            fresh = read if read is not None else Refusal("unreadable_response")
            await self.pipeline.compare(tracked.would_be, fresh, source="shadow")
            return None
        if read is None:
            logger.debug("litellm-semcache: not storing a response of unknown shape")
            return None
        # The first answer of a request is its entry ("calls inside calls"); its text is let go.
        tracked.stored, tracked.prepared = True, None
        return await self.pipeline.store(prepared, read)

    async def async_set_cache(self, key: str, value: Any, **kwargs: Any) -> None:
        """LiteLLM's write (already off the response path, in a background task)."""
        await self.store_answer(value, kwargs)

    async def async_set_cache_pipeline(self, cache_list: list[tuple[str, Any]], **kwargs: Any) -> None:
        """LiteLLM's batch write (embedding calls only, which this cache does not serve)."""
        for key, value in cache_list:
            await self.async_set_cache(key, value, **kwargs)

    # --- sync wrappers (litellm.completion without asyncio) -------------------------------------------------
    def _run_sync(self, coroutine: Coroutine[Any, Any, _T]) -> _T:
        with self._sync_lock:
            if self._sync_loop is None or self._sync_loop.is_closed():
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="semcache-sync", daemon=True).start()
                self._sync_loop = loop
        return asyncio.run_coroutine_threadsafe(coroutine, self._sync_loop).result()

    def get_cache(self, key: str, **kwargs: Any) -> Any:
        """Sync read, for ``litellm.completion``."""
        return self._run_sync(self.async_get_cache(key, **kwargs))

    def set_cache(self, key: str, value: Any, **kwargs: Any) -> None:
        """Sync write, for ``litellm.completion``."""
        self._run_sync(self.async_set_cache(key, value, **kwargs))

    # --- housekeeping ---------------------------------------------------------------------------------------
    async def ping(self) -> bool:
        """Used by the proxy's /cache/ping."""
        return await self.pipeline.ping()

    async def disconnect(self) -> None:
        """Close this loop's Redis connections."""
        await self.pipeline.close()

    async def test_connection(self) -> dict[str, Any]:
        """LiteLLM's connection test."""
        try:
            await self.ping()
            await self.store.ensure_index()
        except Exception as exc:
            return {"status": "failed", "message": "litellm-semcache cannot reach Redis", "error": str(exc)}
        return {"status": "success", "message": "litellm-semcache is connected"}


def _prepared_of(tracked: _Tracked) -> Prepared | Outcome:
    # track() prepares any request whose prepared form was let go, so this always holds one.
    return tracked.prepared if tracked.prepared is not None else Outcome("skipped", "no_messages")


def _for_litellm(format_: Format, answer: Answer, *, stream: bool) -> Mapping[str, Any]:
    """A hit in the shape LiteLLM's cache machinery turns into the API's response (see the module
    docstring): the format's own response, except for the two streams LiteLLM cannot replay from it."""
    if stream and format_.name == "anthropic_messages":
        return {STREAM_EVENTS_KEY: format_.render_stream(answer)}
    if stream and format_.name == "text_completion":
        return get_format("chat").render(answer)
    return format_.render(answer)


def _read_answer(payload: object, settings: SemCacheSettings) -> Answer | Refusal | None:
    """What LiteLLM hands the cache to store, read by the format whose answer it is (a call inside a call
    answers in the inner API's shape); None when no format knows the shape."""
    body = as_mapping(payload)
    if body is None:
        return None
    events = body.get(STREAM_EVENTS_KEY)
    if isinstance(events, Sequence) and not isinstance(events, (str, bytes)):
        return get_format("anthropic_messages").read_answer(
            [e.decode("utf-8", "replace") if isinstance(e, bytes) else e for e in events], settings
        )
    format_ = format_of_response(body)
    return format_.read_answer(body, settings) if format_ is not None else None
