"""End to end through the real `litellm` proxy: two providers, one meaning-keyed cache."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

from harness.services import FakeUpstream, embedded_state_dir, start_proxy, write_proxy_config
from tests.gateway import ProxyHarness


def test_a_paraphrase_through_another_provider_is_answered_from_the_cache(
    gateway: ProxyHarness, upstream: FakeUpstream
) -> None:
    first = gateway.proxy.chat("gpt-a", "What is the capital of France?")
    assert first.status == 200 and not first.cache_hit
    assert upstream.stats()["openai"] == 1
    gateway.wait_for_entries(1)

    second = gateway.proxy.chat("claude-b", "What's the capital city of France?")
    assert second.status == 200
    assert upstream.calls == 1  # no provider was called
    assert second.text == first.text
    assert second.cache_hit
    assert second.similarity is not None and 0.92 <= second.similarity <= 1.0
    assert second.body["model"] == "claude-b"
    assert float(second.headers.get("x-litellm-response-cost", "0") or 0) == 0.0


def test_an_unrelated_question_misses(gateway: ProxyHarness, upstream: FakeUpstream) -> None:
    gateway.proxy.chat("gpt-a", "What is the capital of France?")
    gateway.wait_for_entries(1)
    other = gateway.proxy.chat("claude-b", "How do I bake sourdough bread?")
    assert other.status == 200 and not other.cache_hit
    assert upstream.calls == 2 and upstream.stats()["anthropic"] == 1
    assert "sourdough" in (other.text or "")


@pytest.mark.parametrize(
    ("question", "reason"),
    [
        ("What is the current exchange rate of the euro?", "pattern:current"),  # a never-cache phrase
        ("how much money do i earn", "class:private"),  # no phrase: the classifier reads the meaning
        ("is it going to rain in Paris tomorrow", "class:live"),
        ("flip a coin for me", "class:random"),
    ],
)
def test_a_non_cacheable_question_always_reaches_the_provider_and_is_never_stored(
    gateway: ProxyHarness, upstream: FakeUpstream, question: str, reason: str
) -> None:
    for _ in range(2):
        result = gateway.proxy.chat("gpt-a", question)
        assert result.status == 200 and not result.cache_hit
        assert result.headers["x-semcache-status"] == "filtered"
        assert result.headers["x-semcache-reason"].startswith(reason.split(":")[0]), result.headers
    assert upstream.calls == 2
    time.sleep(0.5)  # a store would have landed by now
    assert gateway.entry_keys() == []


def test_a_general_question_phrased_personally_is_cached(
    gateway: ProxyHarness, upstream: FakeUpstream
) -> None:
    first = gateway.proxy.chat("gpt-a", "How do I close my account?")
    gateway.wait_for_entries(1)
    again = gateway.proxy.chat("claude-b", "How can I close my account?")
    assert again.cache_hit and again.text == first.text and upstream.calls == 1


def test_the_embedded_redis_is_started_when_no_redis_url_is_set(
    tmp_path: Path, fake_upstream: FakeUpstream
) -> None:
    fake_upstream.reset()
    config = write_proxy_config(tmp_path / "litellm_config.yaml", fake_upstream)
    proxy = start_proxy(tmp_path, config)  # no REDIS_URL in its environment
    state = embedded_state_dir(tmp_path, config)
    try:
        record = json.loads((state / "redis.json").read_text())
        os.kill(record["pid"], 0)  # the embedded server runs
        assert proxy.chat("gpt-a", "How many moons does Mars have?").status == 200
        deadline = time.monotonic() + 10
        while not list((state / "redis").rglob("*.aof")) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert list((state / "redis").rglob("*.aof")), "AOF persistence is on"
        hit = None
        for _ in range(50):  # the store lands in the background
            hit = proxy.chat("claude-b", "How many moons does Mars have in total?")
            if hit.cache_hit:
                break
            time.sleep(0.1)
        assert hit is not None and hit.cache_hit
        assert fake_upstream.calls >= 1
    finally:
        proxy.stop()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            os.kill(record["pid"], 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        os.kill(record["pid"], signal.SIGKILL)
        pytest.fail("the embedded Redis outlived the proxy")
