"""The embedded Redis Stack: a server that cannot start says why; one server per proxy config file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import redis

from litellm_semcache.ops import embedded_redis
from litellm_semcache.ops.embedded_redis import ensure_embedded_redis, running_embedded_redis
from litellm_semcache.settings import load_settings

LOADER_ERROR = (
    "redis-server: error while loading shared libraries: libssl.so.1.1: "
    "cannot open shared object file: No such file or directory"
)


def test_a_server_that_cannot_start_reports_the_loaders_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What a machine without libssl1.1 shows: the dynamic loader writes to stderr and the server exits
    # before it could log anything (the error used to be empty: "did not start: ").
    server = tmp_path / "redis-server"
    server.write_text(f"#!/bin/sh\necho '{LOADER_ERROR}' >&2\nexit 127\n")
    server.chmod(0o755)
    monkeypatch.setattr(embedded_redis, "_server_command", lambda state_dir, port: [str(server)])
    state = tmp_path / "state"
    state.mkdir()
    assert embedded_redis._supervise(state) == 1
    reason = embedded_redis._start_failure(state)
    assert LOADER_ERROR in reason
    assert "install libssl1.1" in reason


def _config(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "litellm_config.yaml"
    path.write_text('litellm_settings:\n  callbacks: ["litellm_semcache.semantic_cache"]\n')
    return path


def test_each_config_file_gets_its_own_embedded_redis_and_the_same_file_the_same_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two projects on the default index_name: before, every checkout of one user shared one server through
    # ~/.local/state/litellm-semcache, so one project's entries and counters showed in the other's stats.
    first, second = _config(tmp_path / "shop"), _config(tmp_path / "docs")
    monkeypatch.chdir(first.parent)
    same_by_relative_path = load_settings("litellm_config.yaml")  # the CLI run in the project folder
    settings_first, settings_second = load_settings(first), load_settings(second)
    assert settings_first.index_name == settings_second.index_name == "semcache"
    assert same_by_relative_path.state_dir == settings_first.state_dir != settings_second.state_dir
    assert settings_first.state_dir.parent == tmp_path / "state" / "litellm-semcache"  # $XDG_STATE_HOME
    assert settings_first.state_dir.name.startswith("shop-")

    started = []
    try:
        server_first = ensure_embedded_redis(settings_first.state_dir)
        started.append(server_first)
        server_second = ensure_embedded_redis(settings_second.state_dir)
        started.append(server_second)
        assert server_first.port != server_second.port
        assert ensure_embedded_redis(same_by_relative_path.state_dir).port == server_first.port

        counters = "semcache:stats"  # what every deployment on the default index_name writes
        redis.Redis.from_url(server_first.url).hincrby(counters, "hits", 5)
        assert redis.Redis.from_url(server_second.url).exists(counters) == 0
        assert running_embedded_redis(settings_first.state_dir) is not None

        # Sharing is opt-in: the same explicit state_dir in both configs.
        shared = tmp_path / "shared-state"
        joined = load_settings(second, state_dir=str(shared))
        assert ensure_embedded_redis(joined.state_dir).port == ensure_embedded_redis(shared).port
        started.append(ensure_embedded_redis(shared))
    finally:
        for server in started:  # the supervisors stop their servers once no client is registered
            (server.state_dir / "clients" / str(os.getpid())).unlink(missing_ok=True)


def test_the_embedded_redis_can_be_probed_without_a_proxy() -> None:
    with embedded_redis.probe_embedded_redis() as url:
        client = redis.Redis.from_url(url)
        assert client.ping()
        assert any(module[b"name"] == b"search" for module in client.module_list())
        client.close()
