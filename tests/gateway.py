"""A running proxy plus the Redis it caches in, with helpers the end-to-end tests share."""

from __future__ import annotations

import shutil
import time
import uuid
from pathlib import Path
from typing import Any

import redis
import yaml

from harness.services import FakeUpstream, Proxy, start_proxy, write_proxy_config

__all__ = ["ProxyHarness", "start_harness"]


class ProxyHarness:
    """A running proxy plus the Redis it caches in, with helpers the end-to-end tests share."""

    def __init__(self, proxy: Proxy, redis_url: str, index_name: str) -> None:
        self.proxy = proxy
        self.redis = redis.Redis.from_url(redis_url)
        self.index_name = index_name

    def entry_keys(self) -> list[bytes]:
        return list(self.redis.scan_iter(match=f"{self.index_name}:entry:*", count=1000))

    def wait_for_entries(self, count: int, timeout: float = 10.0) -> None:
        """Stores run in the background after the response; wait until they landed."""
        deadline = time.monotonic() + timeout
        while len(self.entry_keys()) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {count} cache entries, found {len(self.entry_keys())}")
            time.sleep(0.05)

    def assert_nothing_stored(self, settle_seconds: float = 1.0) -> None:
        """Stores run after the response: give a store the time it would take, then check none landed."""
        time.sleep(settle_seconds)
        assert self.entry_keys() == [], "an answer was stored"

    def clear(self) -> None:
        keys = self.entry_keys()
        if keys:
            self.redis.delete(*keys)

    def close(self) -> None:
        self.proxy.stop()
        self.redis.close()


def start_harness(
    work_dir: Path,
    upstream: FakeUpstream,
    redis_url: str,
    *,
    custom_auth: Path | None = None,
    extra_models: list[dict[str, Any]] | None = None,
    **semcache: Any,
) -> ProxyHarness:
    """A proxy on the fake upstream and a Redis; ``custom_auth``: a module whose ``user_api_key_auth``
    maps bearer tokens to teams and keys (copied next to the config, where LiteLLM loads it from)."""
    index = semcache.setdefault("index_name", f"e2e{uuid.uuid4().hex[:8]}")
    work_dir.mkdir(parents=True, exist_ok=True)
    config = write_proxy_config(work_dir / "litellm_config.yaml", upstream, semcache, extra_models)
    if custom_auth is not None:
        shutil.copy(custom_auth, work_dir / custom_auth.name)
        document = yaml.safe_load(config.read_text())
        document["general_settings"] = {"custom_auth": f"{custom_auth.stem}.user_api_key_auth"}
        config.write_text(yaml.safe_dump(document, sort_keys=False))
    proxy = start_proxy(work_dir, config, env={"REDIS_URL": redis_url})
    return ProxyHarness(proxy, redis_url, index)
