"""The proxy's hooks: keep requests the cache must not touch away from it, and say what it did.

The pre-call hook prepares each chat request once (format, admission, scope) before LiteLLM's cache
machinery sees it; a request the cache must stay out of is marked ``no-cache``/``no-store``. The
response-headers hook turns the outcome the lookup left in the request's metadata into ``x-semcache-*``
headers.
"""

from __future__ import annotations

from typing import Any

from litellm.integrations.custom_logger import CustomLogger

from ...settings import SemCacheSettings
from ...types import Outcome
from .adapter import PREPARED_KEY, STATUS_KEY, SemanticCacheBackend
from .controls import cache_controls, validate_controls
from .requests import SUPPORTED_CALL_TYPES

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
        """Mark non-cacheable chat requests ``no-cache``/``no-store``; reject malformed cache controls.

        Raises:
            fastapi.HTTPException: 400 naming the control when one is malformed (``cache`` not an object,
                a ``ttl`` that is not a number of seconds, a threshold outside [0, 1], ...).
        """
        if call_type not in SUPPORTED_CALL_TYPES:
            return data
        if "cache" in data and data["cache"] is None:
            del data["cache"]  # "no controls": LiteLLM itself would fail on None
        try:
            validate_controls(data)
        except ValueError as exc:
            from fastapi import HTTPException

            raise HTTPException(status_code=400, detail=str(exc)) from exc
        controls = cache_controls(data)
        metadata = data.get("metadata")
        if isinstance(metadata, dict):
            metadata.pop(PREPARED_KEY, None)  # a token sent by the client never names another request
        prepared = await self.backend.aprepare(data)
        if isinstance(prepared, Outcome):
            data["cache"] = {**controls, "no-cache": True, "no-store": True}
            self.backend.record(prepared, data)
        return data

    async def async_post_call_response_headers_hook(
        self,
        data: dict[str, Any],
        user_api_key_dict: Any,
        response: Any,
        request_headers: dict[str, str] | None = None,
        litellm_call_info: dict[str, Any] | None = None,
    ) -> dict[str, str] | None:
        """``x-semcache-status`` (hit, miss, filtered, skipped, error), ``-reason``, on a hit
        ``-entry-id`` (what `litellm-semcache delete` takes to remove a wrong answer), and the learned
        verifier's ``-verifier-score`` whenever it judged a candidate, the cacheability classifier's
        ``-class-probability`` when it kept the question out."""
        metadata = data.get("metadata") if isinstance(data, dict) else None
        status = metadata.get(STATUS_KEY) if isinstance(metadata, dict) else None
        if not isinstance(status, dict):
            return None
        headers = {
            "x-semcache-status": str(status.get("status")),
            "x-semcache-reason": str(status.get("reason")),
        }
        if status.get("entry_id"):
            headers["x-semcache-entry-id"] = str(status["entry_id"])
        if status.get("verifier_score") is not None:
            headers["x-semcache-verifier-score"] = f"{status['verifier_score']:.4f}"
        if status.get("class_probability") is not None:
            headers["x-semcache-class-probability"] = f"{status['class_probability']:.4f}"
        return headers
