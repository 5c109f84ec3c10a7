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
    second = _ask(upstream, "Can you tell me the capital of France?")
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
    second = await _aask(upstream, "Can you tell me how many moons Mars has?")
    assert upstream.calls == 1
    assert second.choices[0].message.content == first.choices[0].message.content


async def test_sdk_messages_and_responses_calls_share_the_cache(
    installed: SemanticCachePlugin, upstream: FakeUpstream
) -> None:
    """Without the proxy (no pre-call hook, no proxy metadata) every API still looks up and stores once,
    and a hit comes back in the asking API's shape."""
    import asyncio

    from litellm.anthropic_interface import messages as anthropic_messages

    first = await anthropic_messages.acreate(
        model="anthropic/claude-3-5-haiku-20241022",
        api_base=upstream.base_url,
        api_key="sk-fake",
        max_tokens=256,
        messages=[{"role": "user", "content": "How many legs does a spider have?"}],
        metadata={"user_id": "u1"},  # the API's own field: never written to by the cache
    )
    assert isinstance(first, dict) and upstream.stats()["anthropic"] == 1
    for _ in range(50):
        if await installed.backend.store.count() >= 1:
            break
        await asyncio.sleep(0.05)
    response = await litellm.aresponses(
        model="openai/gpt-4o-mini",
        api_base=f"{upstream.base_url}/v1",
        api_key="sk-fake",
        input="How many legs do spiders have?",
    )
    assert upstream.calls == 1
    assert response.output[0].content[0].text == first["content"][0]["text"]
    again = await anthropic_messages.acreate(
        model="anthropic/claude-3-5-haiku-20241022",
        api_base=upstream.base_url,
        api_key="sk-fake",
        max_tokens=256,
        messages=[{"role": "user", "content": "How many legs are on a spider?"}],
    )
    assert upstream.calls == 1 and isinstance(again, dict)
    assert again["content"][0]["text"] == first["content"][0]["text"]
