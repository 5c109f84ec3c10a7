"""Chaos under load: a Redis outage must never put a wrong answer in front of anyone, nor cause a 5xx.

The plugin promises to fail open: when its Redis is frozen, dead or restarted empty, requests go to the
provider as if there were no cache, and caching comes back by itself. A wrong answer (one stored for
another question) or an error status is the failure that matters here, because it is the one a user
sees. The moments that can cause one are the transitions, with requests in flight: Redis freezing
mid-call (timeouts; replies that arrive late, after the client gave up), coming back (the commands it
buffered while frozen now run), dying (refused connections) and returning empty (no index, no entries).

One stock ``litellm --config`` proxy with the plugin (default settings, its own Redis Stack server given
as ``redis_url``, so LiteLLM itself never uses that server) routes ``gpt-a`` to the local fake upstream,
which answers ``Answer #N from openai: <question>``. ``--concurrency`` clients (asyncio + aiohttp) send
``--requests`` chat requests, split into five phases of equal size, run one after another and paced so
none ends sooner than ``--min-phase-seconds`` (default 8: the plugin's circuit breaker waits 5 s before it
tries Redis again, and recovery must fit in a phase); each phase's Redis event fires while its requests
are in flight:

    1 normal     Redis up throughout
    2 frozen     SIGSTOP after 10% of the phase: alive but silent, every call would time out
    3 killed     SIGCONT as the phase starts (it runs what it buffered), SIGKILL at 75%: later than the
                 breaker's cool-down (5 s) after the SIGCONT at the default pace, so caching is back on
                 for a while on connections that lived through the freeze
    4 restarted  still dead for the first 10%, then restarted empty (no persistence: no index, no entries)
    5 normal     Redis up throughout: caching must have resumed (hit rate > 0)

Traffic: *first questions* (a stored wording of ``benchmarks/questions.py``'s country x topic questions,
sent for the first time: a miss that gets stored), *exact repeats* of them and *paraphrases* of them
(one per question, from ``paraphrase_candidates()``), about a third each, in a seeded random order. A
repeat or paraphrase is sent only when its question's last request is at least four rounds of clients
back (at most half a phase), so its store had time to land, and a paraphrase is the last request of its
question: then the only answer a request may rightly get from the cache is the one stored for its own
question's stored wording, and a hit is *right* iff the answer contains that wording (the fake upstream
echoes the question it answered). Any other hit is a wrong answer. Pairs are not filtered with the
embedding model: a paraphrase below the plugin's threshold is simply a miss.

Every response is recorded with the request that caused it (``harness.measure.run_load`` returns samples
in completion order and stops at the first connection error, so the load loop here is its own): status,
hit (``harness.measure.is_hit``), right, latency, the plugin's ``x-semcache-status``. A wrong hit, a
non-200 or a request that got no response is kept in full (text, expected wording, answer served, entry
id); a wrong hit, a 5xx or no response makes the run exit with status 1. Also reported: whether caching
resumed (hit rate of the last phase > 0) and whether the upstream call count grew by exactly the number
of answered non-hits.

Run it from the repository root (everything is started and stopped by the script):

    .venv/bin/python -m benchmarks.chaos            # 3000 requests, 32 concurrent clients
    .venv/bin/python -m benchmarks.chaos --quick    # 300 requests, writes chaos.quick.{json,md}

Results: ``benchmarks/results/chaos.json`` and ``benchmarks/results/chaos.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
os.environ["TOKENIZERS_PARALLELISM"] = "false"

import aiohttp

from benchmarks import stack as services
from benchmarks.common import RESULTS_DIR, command_line, log, proxy_machine_facts, publish, work_dir
from benchmarks.questions import MissQuestions, paraphrase_candidates
from harness.measure import Probe, Sample, is_hit, percentiles
from harness.paths import REPO_ROOT
from harness.services import MASTER_KEY, FakeUpstream, RedisServer, model_list
from litellm_semcache.ops.failsafe import CircuitBreaker
from litellm_semcache.settings import SemCacheSettings

MODULE = "benchmarks.chaos"
INDEX = "chaos"
HEADERS = {"Authorization": f"Bearer {MASTER_KEY}"}
CHAT_PATH = "/v1/chat/completions"
KINDS = ("first", "repeat", "paraphrase")
LAG_ROUNDS = 4
"""A repeat or paraphrase follows its question's last request by at least this many rounds of clients."""
REQUEST_TIMEOUT_S = 60.0
SHOWN_INCIDENTS = 20
COOLDOWN_S = CircuitBreaker().cooldown_seconds


# --- options ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Options:
    requests: int
    concurrency: int
    seed: int
    min_phase_seconds: float
    quick: bool
    keep_work: bool
    output: Path
    command: str


def parse_options(argv: Sequence[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(prog=f"python -m {MODULE}", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--requests", type=int, default=3000, help="chat requests in all, split over the five phases"
    )
    parser.add_argument("--concurrency", type=int, default=32, help="concurrent clients")
    parser.add_argument("--seed", type=int, default=20240601, help="seed of the question order and mix")
    parser.add_argument(
        "--min-phase-seconds",
        type=float,
        default=COOLDOWN_S + 3,
        help="pace the requests so no phase ends sooner (default: the plugin's circuit-breaker cool-down "
        f"of {COOLDOWN_S:g} s + 3, so caching can resume within the restarted phase and the last one)",
    )
    parser.add_argument("--quick", action="store_true", help="300 requests, for a smoke run")
    parser.add_argument("--keep-work", action="store_true", help="keep the logs and configs of the run")
    parser.add_argument("--output", type=Path, help="results file stem (default benchmarks/results/chaos)")
    args = parser.parse_args(argv)
    if args.quick:
        args.requests = 300
    if args.requests < 5 * args.concurrency or args.concurrency < 1:
        parser.error("--requests must be at least 5 x --concurrency (every phase needs a full round)")
    return Options(
        requests=args.requests,
        concurrency=args.concurrency,
        seed=args.seed,
        min_phase_seconds=max(0.0, args.min_phase_seconds),
        quick=args.quick,
        keep_work=args.keep_work,
        output=args.output or RESULTS_DIR / ("chaos.quick" if args.quick else "chaos"),
        command=command_line(MODULE, argv),
    )


# --- the traffic -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Family:
    """A stored wording and the one paraphrase of it this run sends (None: it is only repeated)."""

    stored: str
    paraphrase: str | None


@dataclass(frozen=True)
class Planned:
    """One request of the run, in sending order."""

    index: int
    kind: str
    probe: Probe


def families(rng: random.Random) -> list[Family]:
    """Every stored wording of ``paraphrase_candidates()`` once, shuffled, each with one paraphrase."""
    paraphrases: dict[str, list[str]] = {}
    for pair in paraphrase_candidates():
        paraphrases.setdefault(pair.stored, []).append(pair.paraphrase)
    pool = [Family(stored, rng.choice(options)) for stored, options in paraphrases.items()]
    rng.shuffle(pool)
    return pool


def plan_traffic(requests: int, lag: int, seed: int) -> list[Planned]:
    """``requests`` requests: first questions, exact repeats and paraphrases, a third each on average.

    A question is repeated or paraphrased only when its last request is ``lag`` or more places back; its
    paraphrase is its last request (see the module docstring for why). Once every country x topic question
    has been asked, first questions are never-seen ones from ``MissQuestions``, repeated but not
    paraphrased."""
    rng = random.Random(seed)
    pool, extra = families(rng), MissQuestions(seed)
    active: list[Family] = []  # asked, paraphrase not yet sent
    last_sent: dict[str, int] = {}
    plan: list[Planned] = []
    for i in range(requests):
        ready = [f for f in active if last_sent[f.stored] <= i - lag]
        kind = rng.choice(KINDS) if ready else "first"
        if kind == "paraphrase" and not any(f.paraphrase for f in ready):
            kind = "repeat"
        if kind == "first":
            family = pool.pop() if pool else Family(next(extra), None)
            active.append(family)
        elif kind == "repeat":
            family = rng.choice(ready)
        else:
            family = rng.choice([f for f in ready if f.paraphrase])
            active.remove(family)
        text = family.paraphrase if kind == "paraphrase" and family.paraphrase else family.stored
        last_sent[family.stored] = i
        plan.append(Planned(i, kind, Probe(text, expect=family.stored)))
    return plan


def lag(options: Options) -> int:
    """How far back a question's last request must be before it is repeated or paraphrased: four rounds
    of clients, but at most half a phase (a small run would otherwise send only first questions)."""
    return min(LAG_ROUNDS * options.concurrency, options.requests // (2 * len(PHASES)))


# --- the chaos -------------------------------------------------------------------------------------------
def freeze(server: RedisServer) -> None:
    server.process.send_signal(signal.SIGSTOP)


def resume(server: RedisServer) -> None:
    server.process.send_signal(signal.SIGCONT)


def kill(server: RedisServer) -> None:
    server.process.kill()
    server.process.wait()


def restart(server: RedisServer) -> None:
    server.restart()  # same port, empty: the server keeps no data across a restart


@dataclass(frozen=True)
class Event:
    """Something done to Redis once ``at`` (a fraction) of its phase's requests have been sent."""

    at: float
    what: str
    action: Callable[[RedisServer], None]


@dataclass(frozen=True)
class Phase:
    name: str
    events: tuple[Event, ...] = ()


PHASES = (
    Phase("1 normal"),
    Phase("2 frozen", (Event(0.1, "SIGSTOP", freeze),)),
    Phase("3 killed", (Event(0.0, "SIGCONT", resume), Event(0.75, "SIGKILL", kill))),
    Phase("4 restarted", (Event(0.1, "restart (empty)", restart),)),
    Phase("5 normal"),
)


# --- the load --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Outcome:
    """One request's response (status 0: none came), with what is needed to reproduce a bad one."""

    planned: Planned
    sample: Sample
    done_s: float
    """When the response was read, in seconds since the run's clock started."""
    semcache: str = "-"
    entry_id: str | None = None
    served: str | None = None
    """For a wrong hit, a non-200 or no response: the answer text (or body, or error) the client got."""


@dataclass
class Fired:
    what: str
    at_request: int
    at_s: float
    done_s: float | None = None
    error: str | None = None


@dataclass
class PhaseRun:
    phase: Phase
    outcomes: list[Outcome] = field(default_factory=list)
    fired: list[Fired] = field(default_factory=list)
    wall_s: float = 0.0


def _answer_text(body: bytes) -> str:
    try:
        return str(json.loads(body)["choices"][0]["message"]["content"])[:300]
    except (ValueError, KeyError, IndexError, TypeError):
        return body[:300].decode(errors="replace")


async def _send(session: aiohttp.ClientSession, url: str, planned: Planned, clock: float) -> Outcome:
    probe = planned.probe
    started = time.perf_counter()
    try:
        async with session.post(url, json=probe.payload(services.CHAT_MODEL)) as response:
            body = await response.read()
            status, headers = response.status, response.headers
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        now = time.perf_counter()
        sample = Sample((now - started) * 1000, 0, False, False)
        return Outcome(planned, sample, now - clock, served=f"{type(exc).__name__}: {exc}"[:300])
    now = time.perf_counter()
    hit = is_hit(headers)
    right = hit and probe.expect is not None and probe.expect.encode() in body  # as harness.measure judges
    bad = (hit and not right) or status != 200
    return Outcome(
        planned,
        Sample((now - started) * 1000, status, hit, right),
        now - clock,
        semcache=headers.get("x-semcache-status", "-"),
        entry_id=headers.get("x-semcache-entry-id"),
        served=_answer_text(body) if bad else None,
    )


async def _fire(event: Event, server: RedisServer, at_request: int, clock: float, run: PhaseRun) -> None:
    fired = Fired(event.what, at_request, round(time.perf_counter() - clock, 3))
    run.fired.append(fired)
    try:
        await asyncio.to_thread(event.action, server)
    except Exception as exc:  # recorded and reported: the run goes on without that event
        fired.error = f"{type(exc).__name__}: {exc}"
    fired.done_s = round(time.perf_counter() - clock, 3)


async def _load_phase(
    url: str,
    run: PhaseRun,
    planned: Sequence[Planned],
    server: RedisServer | None,
    concurrency: int,
    clock: float,
    min_seconds: float = 0.0,
) -> None:
    """Send ``planned`` from ``concurrency`` clients, request i no sooner than ``i / len(planned)`` of
    ``min_seconds`` in; fire the phase's events on ``server`` as their turn comes (when the request at
    their place is sent, while the ones before it may still be in flight)."""
    due = {int(e.at * len(planned)): e for e in run.phase.events} if server is not None else {}
    spacing = min_seconds / len(planned)
    pending = iter(enumerate(planned))
    events: list[asyncio.Task[None]] = []
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout, headers=HEADERS) as session:
        started = time.perf_counter()

        async def client() -> None:
            for position, request in pending:  # one shared iterator: each request is sent once
                await asyncio.sleep(max(0.0, started + position * spacing - time.perf_counter()))
                if position in due and server is not None:
                    events.append(asyncio.create_task(_fire(due[position], server, position, clock, run)))
                run.outcomes.append(await _send(session, url, request, clock))

        await asyncio.gather(*(client() for _ in range(concurrency)))
        run.wall_s = time.perf_counter() - started
        await asyncio.gather(*events)


def run_phases(url: str, plan: list[Planned], server: RedisServer, options: Options) -> list[PhaseRun]:
    size = len(plan) // len(PHASES)
    clock = time.perf_counter()
    runs = []
    for number, phase in enumerate(PHASES):
        chunk = plan[number * size : (number + 1) * size if number < len(PHASES) - 1 else None]
        log(f"phase {phase.name}: {len(chunk)} requests")
        run = PhaseRun(phase)
        asyncio.run(
            _load_phase(url, run, chunk, server, options.concurrency, clock, options.min_phase_seconds)
        )
        runs.append(run)
    return runs


def warm_up(url: str, concurrency: int, seed: int) -> None:
    """Never-seen questions, unrecorded: the proxy's first requests load what it loads lazily."""
    texts = MissQuestions(seed + 1).take(concurrency)  # not the ones plan_traffic may ask
    planned = [Planned(i, "warm-up", Probe(t)) for i, t in enumerate(texts)]
    run = PhaseRun(Phase("warm-up"))
    asyncio.run(_load_phase(url, run, planned, None, concurrency, time.perf_counter()))
    failed = [o for o in run.outcomes if o.sample.status != 200]
    if failed:
        raise RuntimeError(f"warm-up: {len(failed)} requests failed ({failed[0].served})")


# --- summaries -------------------------------------------------------------------------------------------
def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def phase_summary(run: PhaseRun) -> dict[str, Any]:
    samples = [o.sample for o in run.outcomes]
    answered = [s for s in samples if s.status]
    hits = [o for o in run.outcomes if o.sample.hit]
    timing = percentiles([s.ms for s in answered])
    return {
        "phase": run.phase.name,
        "events": [vars(f) for f in run.fired],
        "requests": len(samples),
        "status_5xx": sum(1 for s in samples if s.status >= 500),
        "non_200": sum(1 for s in samples if s.status != 200),
        "no_response": len(samples) - len(answered),
        "hits": len(hits),
        "hit_rate": _rate(len(hits), len(samples)),
        "wrong_hits": sum(1 for o in hits if not o.sample.right),
        "sent_by_kind": dict(Counter(o.planned.kind for o in run.outcomes)),
        "hits_by_kind": dict(Counter(o.planned.kind for o in hits)),
        "semcache_status": dict(Counter(o.semcache for o in run.outcomes)),
        "p50_ms": timing["p50"],
        "p99_ms": timing["p99"],
        "max_ms": timing["max"],
        "wall_s": round(run.wall_s, 2),
        "requests_per_s": round(len(samples) / run.wall_s, 1) if run.wall_s else None,
    }


def incidents(runs: list[PhaseRun]) -> list[dict[str, Any]]:
    """Every wrong hit, non-200 and unanswered request, with what is needed to reproduce it."""
    found = []
    for run in runs:
        for o in sorted(run.outcomes, key=lambda o: o.planned.index):
            if o.served is None:
                continue
            problem = "wrong hit" if o.sample.hit and not o.sample.right else f"status {o.sample.status}"
            found.append(
                {
                    "problem": problem if o.sample.status else "no response",
                    "phase": run.phase.name,
                    "request": o.planned.index,
                    "at_s": round(o.done_s, 3),
                    "kind": o.planned.kind,
                    "text": o.planned.probe.text,
                    "expected": o.planned.probe.expect,
                    "served": o.served,
                    "entry_id": o.entry_id,
                    "semcache": o.semcache,
                }
            )
    return found


def recovery(runs: list[PhaseRun]) -> dict[str, Any]:
    """Whether caching resumed after the restart, and how soon the first right hit came after it."""
    restarts = [f for run in runs for f in run.fired if f.what.startswith("restart") and f.done_s]
    back_at = restarts[-1].done_s if restarts else None
    later = [
        o.done_s for run in runs for o in run.outcomes if o.sample.right and back_at and o.done_s > back_at
    ]
    last = phase_summary(runs[-1])
    return {
        "final_phase_hit_rate": last["hit_rate"],
        "resumed": bool(last["hits"]),
        "restart_done_s": back_at,
        "first_right_hit_after_restart_s": round(min(later) - back_at, 2) if later and back_at else None,
    }


def upstream_check(runs: list[PhaseRun], calls: int) -> dict[str, Any]:
    """Every answered non-hit is one upstream call, and no hit is one."""
    expected = sum(1 for run in runs for o in run.outcomes if o.sample.status == 200 and not o.sample.hit)
    return {"expected_calls": expected, "observed_calls": calls, "ok": expected == calls}


# --- the stack -------------------------------------------------------------------------------------------
def chaos_config(upstream: FakeUpstream, server: RedisServer) -> dict[str, Any]:
    """The plugin with default settings on ``server`` (in its own block: LiteLLM never uses that Redis)."""
    return {
        "model_list": [m for m in model_list(upstream) if m["model_name"] == services.CHAT_MODEL],
        "litellm_settings": {"num_retries": 0, "callbacks": ["litellm_semcache.semantic_cache"]},
        "litellm_semcache": {"redis_url": server.url, "index_name": INDEX},
    }


def machine_facts(server: RedisServer) -> dict[str, Any]:
    client = server.client()
    try:
        redis_version = client.info("server").get("redis_version")
    finally:
        client.close()
    return proxy_machine_facts(("litellm", "redis", "redisvl", "aiohttp"), redis_version)


def code_version() -> dict[str, Any]:
    """The commit the plugin was loaded from and its files that differ from it (others edit them too)."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=30)
        return done.stdout if done.returncode == 0 else ""

    modified = git("status", "--porcelain", "--", "litellm_semcache").splitlines()
    return {"commit": git("rev-parse", "HEAD").strip() or None, "modified": [line[3:] for line in modified]}


def measure(stack: services.Stack, options: Options) -> dict[str, Any]:
    """Start the stack, warm up, run the five phases; the raw results."""
    upstream = stack.start_upstream()
    server = stack.start_redis("chaos")
    log("starting the proxy")
    code = code_version()  # as the proxy loads the plugin
    proxy = stack.start_proxy("semcache", chaos_config(upstream, server))
    machine = machine_facts(server)
    url = proxy.base_url + CHAT_PATH
    plan = plan_traffic(options.requests, lag(options), options.seed)
    warm_up(url, options.concurrency, options.seed)
    before = upstream.calls
    try:
        runs = run_phases(url, plan, server, options)
    finally:
        with contextlib.suppress(ProcessLookupError):
            resume(server)  # a frozen server would not stop when asked to
    machine["load_average_end"] = list(os.getloadavg())
    return {
        "machine": machine,
        "code": code,
        "phases": [phase_summary(run) for run in runs],
        "recovery": recovery(runs),
        "upstream": upstream_check(runs, upstream.calls - before),
        "incidents": incidents(runs),
        "sent_by_kind": dict(Counter(p.kind for p in plan)),
    }


# --- report ----------------------------------------------------------------------------------------------
def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def _events(row: dict[str, Any]) -> str:
    if not row["events"]:
        return "up throughout"
    parts = []
    for event in row["events"]:
        failed = f" (**failed**: {event['error']})" if event["error"] else ""
        parts.append(f"{event['what']} at request {event['at_request']}{failed}")
    return "; ".join(parts)


def _code(results: dict[str, Any]) -> str:
    code = results.get("code") or {}
    commit = (code.get("commit") or "?")[:7]
    return f"{commit} + uncommitted {', '.join(code['modified'])}" if code.get("modified") else commit


def _head_lines(results: dict[str, Any]) -> list[str]:
    machine, settings = results["machine"], results["settings"]
    kinds = results["sent_by_kind"]
    return [
        f"Command: `{results['command']}`  ",
        f"Run: {results['started_at']}, {results['duration_s']:.0f} s; machine: {machine['cpu_count']} CPUs "
        f"({machine['cpu_model']}), Python {machine['python']}, "
        f"litellm {machine['packages'].get('litellm')}, Redis {machine['redis_server']}; plugin at "
        f"{_code(results)}  ",
        f"Load: {settings['requests']} chat requests from {settings['concurrency']} concurrent clients, "
        f"{len(results['phases'])} phases of equal size; {kinds.get('first', 0)} first questions, "
        f"{kinds.get('repeat', 0)} exact repeats, {kinds.get('paraphrase', 0)} paraphrases. Plugin "
        f"defaults (Redis timeout {settings['redis_timeout_s']} s); requests paced so a phase lasts at least "
        f'{settings["min_phase_seconds"]:g} s. Events fire with requests in flight; "at request k" counts '
        "the phase's requests sent.",
    ]


def _table_lines(results: dict[str, Any]) -> list[str]:
    lines = [
        "",
        "| phase | Redis | requests | 5xx | non-200 | hits | hit rate | wrong hits | p50 ms | p99 ms | s |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in results["phases"]:
        rate = "-" if row["hit_rate"] is None else f"{100 * row['hit_rate']:.0f}%"
        lines.append(
            f"| {row['phase']} | {_events(row)} | {row['requests']} | {row['status_5xx']} | "
            f"{row['non_200']} | {row['hits']} | {rate} | {row['wrong_hits']} | {_fmt(row['p50_ms'])} | "
            f"{_fmt(row['p99_ms'])} | {_fmt(row['wall_s'])} |"
        )
    return lines


def _verdict_lines(results: dict[str, Any]) -> list[str]:
    verdict, back, upstream = results["verdict"], results["recovery"], results["upstream"]
    statuses = "; ".join(
        f"{row['phase']}: " + ", ".join(f"{k} {v}" for k, v in sorted(row["semcache_status"].items()))
        for row in results["phases"]
    )
    return [
        "",
        f"**Verdict: {'pass' if verdict['ok'] else 'FAIL'}**: {verdict['wrong_hits']} wrong hits, "
        f"{verdict['status_5xx']} 5xx, {verdict['no_response']} requests without a response. Caching "
        f"resumed: {'yes' if back['resumed'] else '**no**'} (final phase hit rate "
        f"{_fmt(back['final_phase_hit_rate'], 3)}; first right hit "
        f"{_fmt(back['first_right_hit_after_restart_s'], 2)} s after the restart finished).  ",
        f"Upstream calls = answered non-hits: {upstream['ok']} (expected {upstream['expected_calls']}, "
        f"observed {upstream['observed_calls']}).  ",
        f"`x-semcache-status` per phase: {statuses}.",
    ]


def _incident_lines(results: dict[str, Any]) -> list[str]:
    found = results["incidents"]
    if not found:
        return []
    lines = [
        "",
        f"**Incidents** ({len(found)}; the first {min(len(found), SHOWN_INCIDENTS)})",
        "",
        "| problem | phase | request | at s | kind | text | expected | served | entry |",
        "|---|---|---:|---:|---|---|---|---|---|",
    ]
    for i in found[:SHOWN_INCIDENTS]:
        cells = [i["problem"], i["phase"], i["request"], i["at_s"], i["kind"], i["text"], i["expected"]]
        cells += [i["served"], i["entry_id"]]
        lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |")
    return lines


def markdown(results: dict[str, Any]) -> str:
    sections = (_head_lines, _table_lines, _verdict_lines, _incident_lines)
    return "\n".join(line for section in sections for line in section(results)) + "\n"


def finish(results: dict[str, Any], options: Options, started_at: str, duration: float) -> dict[str, Any]:
    """Add the run's facts and the verdict to the results."""
    phases = results["phases"]
    verdict = {key: sum(row[key] for row in phases) for key in ("wrong_hits", "status_5xx", "no_response")}
    verdict["ok"] = not any(verdict.values())  # caching resuming is reported, not required
    head = {
        "command": options.command,
        "started_at": started_at,
        "duration_s": round(duration, 1),
        "settings": {
            "requests": options.requests,
            "concurrency": options.concurrency,
            "lag_requests": lag(options),
            "min_phase_seconds": options.min_phase_seconds,
            "redis_timeout_s": SemCacheSettings.model_fields["redis_timeout_seconds"].default,
            "seed": options.seed,
            "quick": options.quick,
        },
        "verdict": verdict,
    }
    return {**head, **results}


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_options(argv)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl-C, even if started with SIGINT ignored
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # and a plain kill: both run the cleanup
    started, started_at = time.monotonic(), dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    with work_dir("semcache-chaos-", options.keep_work) as folder, services.Stack(folder) as stack:
        raw = measure(stack, options)
    results = finish(raw, options, started_at, time.monotonic() - started)
    text = markdown(results)
    publish(options.output, results, text)
    return 0 if results["verdict"]["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
