"""The documented SDK call: `litellm_semcache.install(...)`, then plain `litellm.completion` calls."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import litellm
import pytest

import litellm_semcache
from harness.services import FakeUpstream
from litellm_semcache.integrations.litellm import SemanticCachePlugin


@pytest.fixture
def installed(redis_url: str, index_name: str, upstream: FakeUpstream) -> Iterator[SemanticCachePlugin]:
    previous = litellm.cache
    plugin = litellm_semcache.install(redis_url=redis_url, index_name=index_name)
    yield plugin
    litellm.cache = previous
    plugin.backend.embedder.close()


def _ask(upstream: FakeUpstream, text: str) -> Any:
    return litellm.completion(
        model="openai/gpt-4o-mini",
        api_base=f"{upstream.base_url}/v1",
        api_key="sk-fake",
        messages=[{"role": "user", "content": text}],
    )


async def _aask(upstream: FakeUpstream, text: str) -> Any:
    return await litellm.acompletion(
        model="openai/gpt-4o-mini",
        api_base=f"{upstream.base_url}/v1",
        api_key="sk-fake",
        messages=[{"role": "user", "content": text}],
    )


def test_sync_sdk_calls_hit_on_a_paraphrase(installed: SemanticCachePlugin, upstream: FakeUpstream) -> None:
    first = _ask(upstream, "What is the capital of France?")
    assert upstream.calls == 1
    second = _ask(upstream, "What's the capital city of France?")
    assert upstream.calls == 1
    assert second.choices[0].message.content == first.choices[0].message.content
    assert second._hidden_params.get("cache_hit") is True


async def test_async_sdk_calls_hit_on_a_paraphrase(
    installed: SemanticCachePlugin, upstream: FakeUpstream
) -> None:
    import asyncio

    first = await _aask(upstream, "How many moons does Mars have?")
    for _ in range(50):  # the store is a background task
        if await installed.backend.store.count() >= 1:
            break
        await asyncio.sleep(0.05)
    second = await _aask(upstream, "How many moons does Mars have in total?")
    assert upstream.calls == 1
    assert second.choices[0].message.content == first.choices[0].message.content
