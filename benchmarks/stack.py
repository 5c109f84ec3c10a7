"""The services a benchmark run needs, started together and always stopped together.

One fake upstream (every proxy routes to it), one embedding server (LiteLLM's `redis-semantic`
cache calls it), one Redis Stack server per cached proxy (so the caches never share a keyspace or
a Redis thread), and one stock ``litellm --config`` proxy per configuration.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from harness.services import (
    CountingService,
    FakeUpstream,
    Proxy,
    RedisServer,
    model_list,
    start_fake_upstream,
    start_proxy,
    start_redis,
    start_service,
)

CHAT_MODEL = "gpt-a"
EMBEDDING_MODEL = "minilm"


class EmbeddingServer(CountingService):
    """``python -m benchmarks.embedding_server`` as a subprocess."""

    def embed(self, texts: list[str]) -> list[list[float]]:
        response = httpx.post(
            f"{self.base_url}/v1/embeddings", json={"model": EMBEDDING_MODEL, "input": texts}, timeout=120
        )
        response.raise_for_status()
        return [item["embedding"] for item in response.json()["data"]]


def start_embedding_server(log_dir: Path, runtime: str = "torch") -> EmbeddingServer:
    return start_service(
        EmbeddingServer, "benchmarks.embedding_server", log_dir, "--runtime", runtime, timeout=120
    )


def _processes_naming(marker: str) -> list[int]:
    """Ids of this user's processes whose command line contains ``marker``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if marker.encode() in cmdline:
            found.append(int(entry.name))
    return found


def reap_leftovers(marker: str, grace: float = 10.0) -> list[int]:
    """Stop processes this run started that are still alive (a start interrupted mid-wait leaves its
    process behind), recognised by the run's work directory in their command line. That finds the
    proxies; Redis rewrites its process title, but a Redis server is stopped through the stack as
    soon as it answers, within a second of its start."""
    pids = _processes_naming(marker)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(pid in _processes_naming(marker) for pid in pids):
        time.sleep(0.2)
    for pid in set(pids) & set(_processes_naming(marker)):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return pids


# --- proxy configurations --------------------------------------------------------------------------------
def _chat_models(upstream: FakeUpstream) -> list[dict[str, Any]]:
    return [m for m in model_list(upstream) if m["model_name"] == CHAT_MODEL]


def _embedding_model(embeddings: EmbeddingServer) -> dict[str, Any]:
    return {
        "model_name": EMBEDDING_MODEL,
        "litellm_params": {
            "model": f"openai/{EMBEDDING_MODEL}",
            "api_base": f"{embeddings.base_url}/v1",
            "api_key": "sk-fake-embeddings",
        },
    }


def nocache_config(upstream: FakeUpstream) -> dict[str, Any]:
    return {"model_list": _chat_models(upstream), "litellm_settings": {"num_retries": 0}}


def litellm_redis_config(upstream: FakeUpstream, redis_server: RedisServer) -> dict[str, Any]:
    """LiteLLM's exact-match cache (``cache: true``, ``type: redis``)."""
    return {
        "model_list": _chat_models(upstream),
        "litellm_settings": {
            "num_retries": 0,
            "cache": True,
            "cache_params": {"type": "redis", "host": "127.0.0.1", "port": redis_server.port},
        },
    }


def litellm_semantic_config(
    upstream: FakeUpstream, redis_server: RedisServer, embeddings: EmbeddingServer, threshold: float
) -> dict[str, Any]:
    """LiteLLM's built-in ``redis-semantic`` cache, embedding with all-MiniLM-L6-v2 over HTTP."""
    return {
        "model_list": [*_chat_models(upstream), _embedding_model(embeddings)],
        "litellm_settings": {
            "num_retries": 0,
            "cache": True,
            "cache_params": {
                "type": "redis-semantic",
                "redis_url": redis_server.url,
                "similarity_threshold": threshold,
                "redis_semantic_cache_embedding_model": EMBEDDING_MODEL,
                "redis_semantic_cache_index_name": "litellm_semantic",
            },
        },
    }


def semcache_config(
    upstream: FakeUpstream, redis_server: RedisServer, index_name: str, threshold: float
) -> dict[str, Any]:
    """This project's plugin with default settings (contrast guard on) but the same similarity threshold
    as LiteLLM's semantic cache: the same pairs must be hits on both, and the seeded questions must all be
    stored (at the lower default some seeds are hits of earlier ones). Latency does not depend on it."""
    return {
        "model_list": _chat_models(upstream),
        "litellm_settings": {"num_retries": 0, "callbacks": ["litellm_semcache.semantic_cache"]},
        "litellm_semcache": {
            "redis_url": redis_server.url,
            "index_name": index_name,
            "similarity_threshold": threshold,
        },
    }


# --- the whole stack -------------------------------------------------------------------------------------
@dataclass
class Stack:
    """Everything started for one run; :meth:`close` stops all of it (also after a partial start)."""

    work_dir: Path
    embedding_runtime: str = "torch"
    upstream: FakeUpstream | None = None
    embeddings: EmbeddingServer | None = None
    redis: dict[str, RedisServer] = field(default_factory=dict)
    proxies: dict[str, Proxy] = field(default_factory=dict)
    _exit: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)

    def start_upstream(self) -> FakeUpstream:
        self.upstream = start_fake_upstream(self.work_dir)
        self._exit.callback(self.upstream.stop)
        return self.upstream

    def start_embeddings(self) -> EmbeddingServer:
        self.embeddings = start_embedding_server(self.work_dir, self.embedding_runtime)
        self._exit.callback(self.embeddings.stop)
        return self.embeddings

    def start_redis(self, name: str) -> RedisServer:
        server = start_redis(self.work_dir / f"redis-{name}")
        self._exit.callback(server.stop)
        self.redis[name] = server
        return server

    def start_proxy(self, name: str, config: Mapping[str, Any]) -> Proxy:
        directory = self.work_dir / f"proxy-{name}"
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / "config.yaml"
        path.write_text(yaml.safe_dump(dict(config), sort_keys=False))
        proxy = start_proxy(directory, path, timeout=240)
        self._exit.callback(proxy.stop)
        self.proxies[name] = proxy
        return proxy

    def close(self) -> None:
        try:
            self._exit.close()
        finally:
            reap_leftovers(str(self.work_dir))

    def __enter__(self) -> Stack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
