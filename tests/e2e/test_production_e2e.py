"""Running it in production, end to end with real processes: outages, replicas, restarts, admin."""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from harness.measure import server_timings
from harness.services import (
    ChatResult,
    FakeUpstream,
    RedisServer,
    embedded_state_dir,
    start_proxy,
    start_redis,
    write_proxy_config,
)
from litellm_semcache.settings import SemCacheSettings
from tests.gateway import ProxyHarness

_BIN = Path(sys.executable).parent


def cli(redis_url: str, index: str, *argv: str) -> subprocess.CompletedProcess[str]:
    """The `litellm-semcache` console script, as an operator runs it."""
    env = {**os.environ, "REDIS_URL": redis_url, "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [str(_BIN / "litellm-semcache"), "--index", index, *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def eventually_hit(
    proxy_chat: Callable[..., ChatResult], *args: object, timeout: float = 10.0, **kwargs: object
) -> ChatResult:
    """Ask until the answer comes from the cache (stores land in the background)."""
    deadline = time.monotonic() + timeout
    while True:
        result = proxy_chat(*args, **kwargs)
        if result.cache_hit or time.monotonic() > deadline:
            return result
        time.sleep(0.1)


def test_response_headers_name_the_entry_and_admin_delete_makes_it_miss_again(
    gateway: ProxyHarness, upstream: FakeUpstream, redis_url: str
) -> None:
    miss = gateway.proxy.chat("gpt-a", "What is the capital of Peru?")
    assert miss.headers["x-semcache-status"] == "miss"
    gateway.wait_for_entries(1)
    hit = gateway.proxy.chat("claude-b", "Can you tell me the capital of Peru?")
    assert hit.cache_hit and hit.headers["x-semcache-status"] == "hit"
    assert hit.headers["x-semcache-reason"] == "semantic"
    # where the lookup spent its time, in the standard Server-Timing header (the verifier judged it)
    steps = dict(server_timings(hit.headers))
    assert {"prepare", "exact_get", "embed", "knn", "verify", "fetch"} <= set(steps) and steps["verify"] > 0
    entry_id = hit.headers["x-semcache-entry-id"]
    assert hit.headers["x-litellm-cache-key"] == entry_id  # not LiteLLM's constant for semantic caches
    filtered = gateway.proxy.chat("gpt-a", "What is my account number?")
    assert filtered.headers["x-semcache-status"] == "filtered"
    assert filtered.headers["x-semcache-reason"] == "class:private"

    done = cli(redis_url, gateway.index_name, "delete", entry_id)  # a user reported the answer as wrong
    assert done.returncode == 0 and "deleted 1 entry" in done.stdout, done.stderr
    again = gateway.proxy.chat("claude-b", "Can you tell me the capital of Peru?")
    assert not again.cache_hit and upstream.calls == 3


def test_litellms_cache_key_header_names_the_entry_on_a_hit(gateway: ProxyHarness) -> None:
    # LiteLLM's own value leaves the prompt out for semantic caches: the same on every hit, useless.
    gateway.proxy.chat("gpt-a", "What is the capital of Chile?")
    gateway.wait_for_entries(1)
    repeat = gateway.proxy.chat("gpt-a", "What is the capital of Chile?")
    assert repeat.headers["x-semcache-status"] == "hit"
    assert repeat.headers["x-litellm-cache-key"] == repeat.headers["x-semcache-entry-id"]
    other = gateway.proxy.chat("gpt-a", "What is the capital of Norway?")
    gateway.wait_for_entries(2)
    again = gateway.proxy.chat("gpt-a", "What is the capital of Norway?")
    assert again.headers["x-litellm-cache-key"] not in ("", repeat.headers["x-litellm-cache-key"])
    assert "x-litellm-cache-key" not in other.headers  # a miss carries none


# --- fail-open ----------------------------------------------------------------------------------------------
@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = start_redis(tmp_path / "redis")
    yield server
    server.stop()


@pytest.fixture
def outage_proxy(
    tmp_path: Path, fake_upstream: FakeUpstream, own_redis: RedisServer
) -> Iterator[ProxyHarness]:
    index = f"outage{uuid.uuid4().hex[:6]}"
    config = write_proxy_config(tmp_path / "litellm_config.yaml", fake_upstream, {"index_name": index})
    # SEMCACHE_REDIS_URL, not REDIS_URL: LiteLLM itself also uses REDIS_URL (rate limits, spend), and
    # its own Redis calls are not this cache's to fail open. This test is about the cache.
    proxy = start_proxy(tmp_path, config, env={"SEMCACHE_REDIS_URL": own_redis.url})
    harness = ProxyHarness(proxy, own_redis.url, index)
    yield harness
    proxy.stop()


def _latencies(harness: ProxyHarness, count: int, tag: str) -> list[float]:
    timings = []
    for i in range(count):
        start = time.perf_counter()
        result = harness.proxy.chat("gpt-a", f"Unique question {tag} number {i}: how do tides work?")
        timings.append(time.perf_counter() - start)
        assert result.status == 200, result.body  # every request is answered
    return timings


@pytest.mark.parametrize("failure", ["killed", "frozen"])
def test_a_redis_outage_costs_requests_nothing_and_caching_resumes_by_itself(
    outage_proxy: ProxyHarness, own_redis: RedisServer, fake_upstream: FakeUpstream, failure: str
) -> None:
    fake_upstream.reset()
    normal = statistics.median(_latencies(outage_proxy, 15, "before"))
    if failure == "killed":
        own_redis.process.kill()
        own_redis.process.wait()
    else:
        own_redis.process.send_signal(signal.SIGSTOP)  # alive but silent: every call would time out
    try:
        during = _latencies(outage_proxy, 30, "during")
    finally:
        if failure == "frozen":
            own_redis.process.send_signal(signal.SIGCONT)
            own_redis.process.kill()
            own_redis.process.wait()
    # Most requests never wait for Redis: after a few timeouts the breaker skips the cache. (Not a speed
    # target: a request that waited costs the Redis timeout, one that skipped costs what `normal` does.)
    timeout = SemCacheSettings().redis_timeout_seconds
    assert statistics.median(during) < timeout, (normal, timeout, statistics.median(during))
    assert max(during) < 3.0  # bounded: timeouts, then the breaker skips the cache

    own_redis.restart()  # empty: no persistence on this server, so the index is gone too
    question, paraphrase = "How many bones are in the human body?", "How many bones does a human body have?"
    deadline = time.monotonic() + 30
    while True:  # the breaker lets a trial through after its cool-down; the index is recreated
        outage_proxy.proxy.chat("gpt-a", question)
        if outage_proxy.proxy.chat("gpt-a", paraphrase).cache_hit:
            break
        assert time.monotonic() < deadline, "caching did not resume after Redis came back"
        time.sleep(0.5)
    info = redis.Redis.from_url(own_redis.url)
    assert outage_proxy.index_name.encode() in info.execute_command("FT._LIST")
    info.close()


# --- replicas ---------------------------------------------------------------------------------------------
def test_two_proxies_share_entries_and_stats_count_both(
    tmp_path: Path, fake_upstream: FakeUpstream, redis_url: str
) -> None:
    fake_upstream.reset()
    index = f"replicas{uuid.uuid4().hex[:6]}"
    proxies = []
    try:
        for name in ("one", "two"):
            config = write_proxy_config(tmp_path / f"{name}.yaml", fake_upstream, {"index_name": index})
            proxies.append(start_proxy(tmp_path / name, config, env={"REDIS_URL": redis_url}))
        one, two = proxies
        one.chat("gpt-a", "What is the largest planet in the solar system?")
        assert eventually_hit(
            two.chat, "claude-b", "Which planet in the solar system is the largest?"
        ).cache_hit
        assert one.chat("gpt-a", "What is the largest planet in our solar system?").cache_hit
        assert fake_upstream.calls == 1

        deadline = time.monotonic() + 10
        while True:  # each replica adds its counts to Redis about once a second
            stats = json.loads(cli(redis_url, index, "stats", "--json").stdout)
            if stats["hits"] >= 2 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert stats["hits"] >= 2 and stats["misses"] >= 1 and stats["entries"] == 1
        assert isinstance(stats["filtered"], int) and isinstance(stats["hit_rate"], float)

        scraped = httpx.get(f"{one.base_url}/semcache/metrics", timeout=10)
        assert scraped.status_code == 200
        families = {f.name: f for f in text_string_to_metric_families(scraped.text)}
        hits = {s.labels["outcome"]: s.value for s in families["semcache_requests"].samples}["hit"]
        assert hits >= 2  # the hit served by the other proxy is counted too
    finally:
        for proxy in proxies:
            proxy.stop()
        client = redis.Redis.from_url(redis_url)
        keys = list(client.scan_iter(match=f"{index}:*"))
        if keys:
            client.delete(*keys)
        client.close()


def test_workers_of_one_proxy_share_the_embedded_redis(tmp_path: Path, fake_upstream: FakeUpstream) -> None:
    fake_upstream.reset()
    config = write_proxy_config(tmp_path / "litellm_config.yaml", fake_upstream)
    proxy = start_proxy(tmp_path, config, extra_args=("--num_workers", "2"))
    state = embedded_state_dir(tmp_path, config)
    try:
        deadline = time.monotonic() + 60
        while len(list((state / "clients").glob("*"))) < 2:  # both workers installed the plugin
            assert time.monotonic() < deadline, list((state / "clients").glob("*"))
            time.sleep(0.2)
        servers = subprocess.run(
            [
                "pgrep",
                "-f",
                f"redis-server 127.0.0.1:{json.loads((state / 'redis.json').read_text())['port']}",
            ],
            capture_output=True,
            text=True,
        ).stdout.split()
        assert len(servers) == 1
        proxy.chat("gpt-a", "What is the freezing point of water in Fahrenheit?")
        time.sleep(0.5)
        for _ in range(6):  # whichever worker answers, the entry is there
            assert eventually_hit(
                proxy.chat, "gpt-a", "In Fahrenheit, what is water's freezing point?"
            ).cache_hit
        assert fake_upstream.calls == 1
    finally:
        proxy.stop()


# --- persistence ----------------------------------------------------------------------------------------
def test_the_embedded_redis_keeps_entries_across_a_proxy_restart(
    tmp_path: Path, fake_upstream: FakeUpstream
) -> None:
    fake_upstream.reset()
    config = write_proxy_config(tmp_path / "litellm_config.yaml", fake_upstream)
    first = start_proxy(tmp_path, config)
    try:
        answer = first.chat("gpt-a", "Who wrote Pride and Prejudice?").text
        assert eventually_hit(first.chat, "gpt-a", "Who is the author of Pride and Prejudice?").cache_hit
    finally:
        first.stop()
    record = embedded_state_dir(tmp_path, config) / "redis.json"
    deadline = time.monotonic() + 15
    while record.exists() and time.monotonic() < deadline:  # the server stopped with the proxy
        time.sleep(0.1)
    assert not record.exists()

    second = start_proxy(tmp_path, config)
    try:
        again = second.chat("claude-b", "Who is the author of Pride and Prejudice?")
        assert again.cache_hit and again.text == answer
        assert fake_upstream.calls == 1
    finally:
        second.stop()


# --- health and what an unhealthy cache tells the outside -----------------------------------------------
SECRET = "Bluebird: what is the launch code of that project?"


def test_cache_ping_pings_and_a_failing_redis_leaks_neither_prompts_nor_addresses(
    outage_proxy: ProxyHarness, own_redis: RedisServer
) -> None:
    base, key = outage_proxy.proxy.base_url, {"Authorization": f"Bearer {outage_proxy.proxy.master_key}"}
    anonymous = httpx.get(f"{base}/cache/ping", timeout=10)  # LiteLLM's own auth applies
    assert anonymous.status_code >= 400 and "healthy" not in anonymous.text
    healthy = httpx.get(f"{base}/cache/ping", headers=key, timeout=10)
    assert healthy.status_code == 200 and healthy.json()["status"] == "healthy"

    # Redis refuses writes: the store fails, and its warning must not quote the question
    own_redis.client().config_set("maxmemory", 1)
    try:
        assert outage_proxy.proxy.chat("gpt-a", SECRET).status == 200
        time.sleep(1.5)
    finally:
        own_redis.client().config_set("maxmemory", 0)
    log = outage_proxy.proxy.log.read_text(errors="replace")
    assert "maxmemory" in log  # the failure was reported ...
    assert "bluebird" not in log.lower()  # ... without the prompt

    own_redis.process.send_signal(signal.SIGSTOP)  # alive but silent
    try:
        frozen = httpx.get(f"{base}/cache/ping", headers=key, timeout=30)
        assert frozen.status_code == 503 and "unhealthy" in frozen.text
        metrics = httpx.get(f"{base}/semcache/metrics", timeout=30)
        assert metrics.status_code == 503
        for leak in ("127.0.0.1", str(own_redis.port), "localhost"):
            assert leak not in metrics.text and leak not in frozen.text
    finally:
        own_redis.process.send_signal(signal.SIGCONT)
    deadline = time.monotonic() + 15
    while httpx.get(f"{base}/cache/ping", headers=key, timeout=30).status_code != 200:
        assert time.monotonic() < deadline, "the cache did not report healthy again"
        time.sleep(0.5)


def test_the_embedded_redis_is_restarted_when_it_dies(tmp_path: Path, fake_upstream: FakeUpstream) -> None:
    fake_upstream.reset()
    config = write_proxy_config(tmp_path / "litellm_config.yaml", fake_upstream)
    proxy = start_proxy(tmp_path, config)
    record = embedded_state_dir(tmp_path, config) / "redis.json"
    try:
        proxy.chat("gpt-a", "Who painted the Mona Lisa?")
        assert eventually_hit(proxy.chat, "gpt-a", "Who is the painter of the Mona Lisa?").cache_hit
        killed = json.loads(record.read_text())["pid"]
        os.kill(killed, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while True:  # the supervisor brings it back on the same port; the proxy's breaker lets it in
            proxy.chat("gpt-a", "Who wrote War and Peace?")
            if proxy.chat("gpt-a", "Who is the author of War and Peace?").cache_hit:
                break
            assert time.monotonic() < deadline, "caching did not resume after the embedded Redis died"
            time.sleep(1.0)
        assert json.loads(record.read_text())["pid"] != killed
    finally:
        proxy.stop()
