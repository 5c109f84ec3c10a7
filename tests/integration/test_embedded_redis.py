"""The embedded Redis Stack's supervisor: a server that cannot start says why."""

from __future__ import annotations

from pathlib import Path

import pytest

from litellm_semcache.ops import embedded_redis

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
