"""Clients and bookkeeping for the benchmarks: timed requests, concurrent load, CPU use, summaries.

A request is timed client-side with ``time.perf_counter`` around the HTTP call (send, wait, read the
whole body). A response is a cache hit when it carries LiteLLM's ``x-litellm-cache-key`` header (or the
plugin's ``x-semcache-status: hit``); a hit
is *right* when its answer is the one stored for the question it was expected to match (the fake
upstream echoes the question it answered into the answer text).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import numpy as np

CACHE_HEADER = "x-litellm-cache-key"
#: The plugin's own verdict, on every API (LiteLLM's cache-key header is the other sign of a hit).
SEMCACHE_STATUS_HEADER = "x-semcache-status"


@dataclass(frozen=True)
class Probe:
    """One request: the user text, extra body fields, and the stored question a hit must answer.

    ``api`` is the request's shape: ``chat`` (``/v1/chat/completions``) or ``messages`` (Anthropic's
    ``/v1/messages``, which also needs ``max_tokens``)."""

    text: str
    expect: str | None = None
    body: tuple[tuple[str, Any], ...] = ()
    api: str = "chat"

    def payload(self, model: str) -> dict[str, Any]:
        extra = {"max_tokens": 512} if self.api == "messages" else {}
        return {
            "model": model,
            **extra,
            "messages": [{"role": "user", "content": self.text}],
            **dict(self.body),
        }


def is_hit(headers: Any) -> bool:
    """Whether a response came from a cache: LiteLLM's cache-key header, or the plugin's hit status."""
    return bool(headers.get(CACHE_HEADER)) or headers.get(SEMCACHE_STATUS_HEADER) == "hit"


@dataclass(frozen=True)
class Sample:
    """The outcome of one request."""

    ms: float
    status: int
    hit: bool
    right: bool
    """For a hit: the answer is the one stored for ``Probe.expect``."""
    timings: tuple[tuple[str, float], ...] = ()
    """The plugin's ``server-timing`` steps (``semcache-embed;dur=4.1``), in milliseconds."""


def server_timings(headers: Any) -> tuple[tuple[str, float], ...]:
    """The plugin's steps from a ``server-timing`` header."""
    steps = []
    for part in str(headers.get("server-timing") or "").split(","):
        name, _, rest = part.strip().partition(";dur=")
        if name.startswith("semcache-") and rest:
            try:
                steps.append((name.removeprefix("semcache-"), float(rest)))
            except ValueError:
                continue
    return tuple(steps)


def _judge(probe: Probe, status: int, hit: bool, body: bytes, ms: float) -> Sample:
    right = hit and probe.expect is not None and probe.expect.encode() in body
    return Sample(ms, status, hit, right)


# --- sequential ----------------------------------------------------------------------------------------
def timed_post(client: httpx.Client, url: str, payload: dict[str, Any], headers: dict[str, str]) -> Sample:
    """One request, timed; hit/right are left to :func:`timed_probe`."""
    started = time.perf_counter()
    response = client.post(url, json=payload, headers=headers)
    ms = (time.perf_counter() - started) * 1000
    return Sample(ms, response.status_code, is_hit(response.headers), False)


def timed_probe(client: httpx.Client, url: str, probe: Probe, model: str, headers: dict[str, str]) -> Sample:
    started = time.perf_counter()
    response = client.post(url, json=probe.payload(model), headers=headers)
    ms = (time.perf_counter() - started) * 1000
    sample = _judge(probe, response.status_code, is_hit(response.headers), response.content, ms)
    return replace(sample, timings=server_timings(response.headers))


# --- concurrent ----------------------------------------------------------------------------------------
async def _load(
    url: str, probes: Sequence[Probe], model: str, headers: dict[str, str], concurrency: int
) -> tuple[list[Sample], float]:
    samples: list[Sample] = []
    pending = iter(probes)
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout, headers=headers) as session:

        async def client() -> None:
            for probe in pending:  # one shared iterator: each probe is sent once
                started = time.perf_counter()
                async with session.post(url, json=probe.payload(model)) as response:
                    body = await response.read()
                    ms = (time.perf_counter() - started) * 1000
                    samples.append(_judge(probe, response.status, is_hit(response.headers), body, ms))

        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(concurrency)))
        wall = time.perf_counter() - started
    return samples, wall


def run_load(
    url: str, probes: Sequence[Probe], model: str, headers: dict[str, str], concurrency: int
) -> tuple[list[Sample], float]:
    """Send ``probes`` from ``concurrency`` concurrent clients; the samples and the wall time (s)."""
    return asyncio.run(_load(url, probes, model, headers, concurrency))


# --- CPU accounting ------------------------------------------------------------------------------------
_TICKS = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()


def _descendants(root: int) -> set[int]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields:
                parents[int(entry.name)] = int(fields[1])
    family, grew = {root}, True
    while grew:
        more = {pid for pid, parent in parents.items() if parent in family} - family
        family |= more
        grew = bool(more)
    return family


def process_cpu_seconds(pids: Sequence[int]) -> float:
    """User+system CPU seconds of these processes and all their descendants."""
    total = 0
    for pid in {p for root in pids for p in _descendants(root)}:
        fields = _stat_fields(pid)
        if fields:
            total += int(fields[11]) + int(fields[12])
    return total / _TICKS


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    total = sum(values[:8])
    return (total - idle) / _TICKS, total / _TICKS


# --- summaries -----------------------------------------------------------------------------------------
def percentiles(values: Sequence[float]) -> dict[str, float | int | None]:
    """n, p50, p90, p99, mean, min, max in ms (None when there are no values)."""
    if not values:
        return {"n": 0, "p50": None, "p90": None, "p99": None, "mean": None, "min": None, "max": None}
    array = np.asarray(values, dtype=float)
    return {
        "n": int(array.size),
        "p50": round(float(np.percentile(array, 50)), 3),
        "p90": round(float(np.percentile(array, 90)), 3),
        "p99": round(float(np.percentile(array, 99)), 3),
        "mean": round(float(array.mean()), 3),
        "min": round(float(array.min()), 3),
        "max": round(float(array.max()), 3),
    }
