"""The proxy's hooks: keep requests the cache must not touch away from it, and say what it did.

The pre-call hook prepares each request once (format, admission, scope) before LiteLLM's cache
machinery sees it, on every API the cache serves (chat and text completions, ``/v1/messages``,
``/v1/responses``); a request the cache must stay out of is marked ``no-cache``/``no-store``. Controls
sent in the ``x-semcache-control`` header join the body's ``cache`` field (the body wins where both
say something). A Responses follow-up naming a response this cache served is given its history first
(``continuations.py``). The response-headers hook turns the outcome the lookup left in the request's metadata
into ``x-semcache-*`` headers, on every API and on streams too.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from litellm.integrations.custom_logger import CustomLogger

from ...errors import SemCacheError
from ...settings import SemCacheSettings
from ...types import Outcome
from .adapter import PREPARED_KEY, STATUS_KEY, SemanticCacheBackend
from .continuations import cached_response_id, expand_follow_up
from .controls import cache_controls, header_controls, validate_controls
from .requests import CALL_TYPE_FORMATS, SUPPORTED_CALL_TYPES, metadata_holder

__all__ = ["SemanticCachePlugin"]


class SemanticCachePlugin(CustomLogger):
    """The object listed in ``litellm_settings.callbacks``; owns the backend."""

    def __init__(self, backend: SemanticCacheBackend) -> None:
        super().__init__()
        self.backend = backend
        self.settings: SemCacheSettings = backend.settings

    async def async_pre_call_hook(
        self, user_api_key_dict: Any, cache: Any, data: dict[str, Any], call_type: str
    ) -> dict[str, Any]:
        """Mark non-cacheable requests ``no-cache``/``no-store``; reject malformed cache controls.

        Raises:
            fastapi.HTTPException: 400 naming the control when one is malformed (``cache`` not an object,
                a ``ttl`` that is not a number of seconds, a threshold outside [0, 1], an unknown
                ``x-semcache-control`` directive, ...).
        """
        if call_type not in SUPPORTED_CALL_TYPES:
            return data
        if CALL_TYPE_FORMATS.get(call_type) == "responses":
            await self._expand_cached_continuation(user_api_key_dict, data)
        if "cache" in data and data["cache"] is None:
            del data["cache"]  # "no controls": LiteLLM itself would fail on None
        try:
            validate_controls(data)
            from_header = header_controls(data)
        except ValueError as exc:
            from fastapi import HTTPException

            raise HTTPException(status_code=400, detail=str(exc)) from exc
        if from_header:
            data["cache"] = {**from_header, **cache_controls(data)}  # LiteLLM applies no-cache/no-store
        controls = cache_controls(data)
        holder = metadata_holder(data)
        if holder is not None:
            holder.pop(PREPARED_KEY, None)  # a token sent by the client never names another request
        prepared = await self.backend.aprepare(data, call_type)
        if isinstance(prepared, Outcome):
            data["cache"] = {**controls, "no-cache": True, "no-store": True}
            self.backend.record(prepared, data)
        return data

    async def _expand_cached_continuation(self, user_api_key_dict: Any, data: dict[str, Any]) -> None:
        """A Responses follow-up naming a response this cache served (one built from another API's
        answer, which the provider never saw) gets that history spelled out in ``input`` instead.

        Raises:
            fastapi.HTTPException: 400 when the named response is no longer known (expired, flushed) or
                was served to another tenant, 503 when Redis cannot be asked.
        """
        response_id = cached_response_id(data)
        if response_id is None:
            return
        from fastapi import HTTPException

        try:
            record = await self.backend.continuation(response_id)
        except SemCacheError as exc:
            raise HTTPException(
                status_code=503,
                detail="the semantic cache cannot be reached to continue a response it served",
            ) from exc

        def authorize(client_facing_id: str) -> str:
            from litellm.proxy.hooks.responses_id_security import ResponsesIDSecurity

            return str(ResponsesIDSecurity().authorize_response_id(client_facing_id, user_api_key_dict))

        if not expand_follow_up(data, record, self.settings, authorize):
            raise HTTPException(
                status_code=400,
                detail="previous_response_id names a response served from the semantic cache that is no "
                "longer known (expired or flushed); send the conversation in `input` instead",
            )

    async def async_post_call_streaming_iterator_hook(
        self, user_api_key_dict: Any, response: Any, request_data: dict[str, Any]
    ) -> AsyncGenerator[Any, None]:
        """Streams pass through unchanged, except a streamed ``/v1/completions`` hit.

        LiteLLM replays a cached text completion as a stream of ``chat.completion.chunk`` objects (its
        cache check runs before the text completion code that converts chunks, so on a hit nothing
        converts them) and the route sends them as they are: a client reading ``choices[0].text`` gets
        nothing. Such a stream goes through LiteLLM's own converter here, so a hit streams the same
        ``text_completion`` chunks a miss does.
        """
        if not self.backend.is_text_completion_hit(request_data):
            async for chunk in response:
                yield chunk
            return
        from litellm.utils import TextCompletionStreamWrapper

        converted = TextCompletionStreamWrapper(
            completion_stream=response,
            model=request_data.get("model"),
            stream_options=request_data.get("stream_options"),
        )
        async for chunk in converted:
            yield chunk

    async def async_post_call_response_headers_hook(
        self,
        data: dict[str, Any],
        user_api_key_dict: Any,
        response: Any,
        request_headers: dict[str, str] | None = None,
        litellm_call_info: dict[str, Any] | None = None,
    ) -> dict[str, str] | None:
        """``x-semcache-status`` (hit, miss, filtered, skipped, error), ``-reason``, on a hit
        ``-entry-id`` (what `litellm-semcache delete` takes to remove a wrong answer, also sent as
        LiteLLM's ``x-litellm-cache-key``), and the learned
        verifier's ``-verifier-score`` whenever it judged a candidate, the cacheability classifier's
        ``-class-probability`` when it kept the question out, ``-policy``: the policy that decided, and
        ``server-timing``: the lookup's steps in milliseconds."""
        holder = metadata_holder(data) if isinstance(data, dict) else None
        status = holder.get(STATUS_KEY) if holder is not None else None
        if not isinstance(status, dict):
            return None
        headers = {
            "x-semcache-status": str(status.get("status")),
            "x-semcache-reason": str(status.get("reason")),
            "x-semcache-policy": str(status.get("policy", "default")),
        }
        if status.get("entry_id"):
            headers["x-semcache-entry-id"] = str(status["entry_id"])
            if status.get("status") == "hit":
                # LiteLLM's own value is a hash of the model and parameters only (the prompt is kept out
                # of the key for semantic caches), the same on every hit; the entry id names the answer.
                headers["x-litellm-cache-key"] = str(status["entry_id"])
        if status.get("verifier_score") is not None:
            headers["x-semcache-verifier-score"] = f"{status['verifier_score']:.4f}"
        if status.get("class_probability") is not None:
            headers["x-semcache-class-probability"] = f"{status['class_probability']:.4f}"
        timings = status.get("timings")
        if isinstance(timings, dict) and timings:
            # The standard Server-Timing header: where the lookup spent its time (ms per step), for
            # browsers' dev tools and benchmarks alike. Steps only, never request content.
            headers["server-timing"] = ", ".join(
                f"semcache-{step};dur={ms:.3f}" for step, ms in timings.items() if isinstance(ms, float | int)
            )
        return headers
