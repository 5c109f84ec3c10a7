"""Only complete answers are stored; failures trip the breaker and are logged once per interval."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from litellm_semcache.formats import get_format
from litellm_semcache.integrations.litellm.adapter import cached_payload
from litellm_semcache.ops.failsafe import CircuitBreaker, WarningThrottle
from litellm_semcache.settings import SemCacheSettings
from litellm_semcache.types import Answer, Refusal


def read_answer(value: Any, *, allow_tool_calls: bool = False) -> Answer | Refusal:
    """The chat format's reading of what LiteLLM hands the cache to store."""
    settings = SemCacheSettings(cache_tool_calls=allow_tool_calls)
    return get_format("chat").read_answer(cached_payload(value), settings)


def _completion(
    content: Any = "Paris.", finish_reason: str | None = "stop", **message: Any
) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "model": "gpt-4o-mini",
        "object": "chat.completion",
        "choices": [
            {
                "index": 0,
                "finish_reason": finish_reason,
                "message": {"role": "assistant", "content": content, **message},
            }
        ],
        "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7},
    }


def test_complete_answer_in_litellms_cache_format_is_storable() -> None:
    stored = {"timestamp": 1.0, "response": json.dumps(_completion())}
    answer = read_answer(stored)
    assert isinstance(answer, Answer)
    assert answer.text == "Paris." and answer.model == "gpt-4o-mini" and answer.completion_tokens == 2
    assert answer.answer_id == read_answer(_completion("  paris ")).answer_id  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (_completion(finish_reason="length"), "finish_reason:length"),
        (_completion(finish_reason="content_filter"), "finish_reason:content_filter"),
        (_completion(finish_reason=None), "finish_reason:None"),
        (_completion(content=""), "empty_answer"),
        (_completion(content=None), "empty_answer"),
        (
            _completion(
                content=None,
                finish_reason="tool_calls",
                tool_calls=[{"id": "1", "type": "function", "function": {"name": "f", "arguments": "{}"}}],
            ),
            "tool_calls",
        ),
        ({**_completion(), "choices": []}, "not_one_choice"),
        ({**_completion(), "choices": _completion()["choices"] * 2}, "not_one_choice"),
        ({"error": {"message": "boom"}}, "error_response"),
        ("not json", "unreadable_response"),
    ],
)
def test_incomplete_or_odd_answers_are_refused(value: Any, reason: str) -> None:
    refusal = read_answer(value)
    assert isinstance(refusal, Refusal) and refusal.text == reason


def test_tool_call_answers_are_storable_when_enabled() -> None:
    value = _completion(
        content=None,
        finish_reason="tool_calls",
        tool_calls=[{"id": "1", "type": "function", "function": {"name": "f", "arguments": "{}"}}],
    )
    assert isinstance(read_answer(value, allow_tool_calls=True), Answer)


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_breaker_opens_after_consecutive_failures_and_recovers_after_cooldown() -> None:
    clock = _Clock()
    breaker = CircuitBreaker(threshold=3, cooldown_seconds=5, clock=clock)
    assert breaker.allow()
    assert not breaker.failure() and not breaker.failure()
    assert breaker.failure()  # the third opens it
    assert breaker.state == "open" and not breaker.allow()
    clock.now = 5.0
    assert breaker.allow()  # one trial
    assert not breaker.allow()  # only one at a time
    breaker.failure()
    assert breaker.state == "open"
    clock.now = 10.0
    assert breaker.allow()
    breaker.success()
    assert breaker.state == "closed" and breaker.allow()


def test_warning_throttle_logs_once_per_interval(caplog: pytest.LogCaptureFixture) -> None:
    clock = _Clock()
    throttle = WarningThrottle(logging.getLogger("t"), interval_seconds=30, clock=clock)
    with caplog.at_level(logging.WARNING, logger="t"):
        assert throttle.warn("redis", "redis down")
        for _ in range(50):
            assert not throttle.warn("redis", "redis down")
        assert throttle.warn("embed", "model failed")  # another topic is not held back
        clock.now = 31
        assert throttle.warn("redis", "redis down")
    messages = [r.getMessage() for r in caplog.records]
    assert messages == ["redis down", "model failed", "redis down (50 similar warnings suppressed)"]
