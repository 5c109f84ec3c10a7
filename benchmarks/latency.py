"""Latency and throughput of litellm-semcache next to LiteLLM's own caches, measured side by side in one run.

Four stock ``litellm --config`` proxies serve the same model group (``gpt-a`` = ``openai/gpt-4o-mini``),
all routed to one local fake provider that answers in about 0 ms, so what is measured is the proxy and
its cache:

    nocache                  no cache
    litellm-redis            LiteLLM's exact-match cache (``cache_params: {type: redis}``)
    litellm-redis-semantic   LiteLLM's ``redis-semantic`` cache, embedding with all-MiniLM-L6-v2 served
                             over HTTP by ``benchmarks.embedding_server`` (the model semcache uses)
    semcache                 this project's plugin: default settings, threshold 0.92 like the one above

The semcache proxy is also asked through Anthropic's ``/v1/messages`` (same model group, LiteLLM's own
route): a paraphrase of a question stored through chat completions is a hit there, rendered as an
Anthropic ``message`` (its own paraphrase pairs, so no embedding is reused from the chat scenario).

Each cached proxy has its own Redis Stack server; both semantic caches use similarity threshold 0.92.

Latency: one sequential client; every request timed with ``time.perf_counter`` around the HTTP call.
After a warm-up, the scenarios are interleaved request by request in rounds (order shuffled per round)
so machine noise hits all of them alike. Paraphrase hits use many different question/paraphrase pairs
(countries x topics x wordings, see ``benchmarks/questions.py``), each paraphrase sent once per proxy;
pairs are chosen with the same model beforehand so each one is a correct hit for both semantic caches.
Every hit is verified: the ``x-litellm-cache-key`` header, the right stored answer, and the upstream
call count (it must grow by exactly the number of non-hits). Only verified hits (misses, for the miss
scenarios) are timed; hit rates are reported.

Throughput: ``--concurrency`` clients (asyncio + aiohttp) send a fixed number of requests per scenario,
in interleaved rounds; requests/s and p50/p99 under load. The client's own CPU use is recorded, and the
same load is sent straight to the fake upstream to show how far the client alone can go.

Run it from the repository root (everything is started and stopped by the script):

    source .venv/bin/activate
    python -m benchmarks.latency              # 300 requests per scenario, 32 concurrent clients
    python -m benchmarks.latency --quick      # smoke run, writes latency.quick.{json,md}

Results: ``benchmarks/results/latency.json`` and ``benchmarks/results/latency.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import re
import signal
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
os.environ["TOKENIZERS_PARALLELISM"] = "false"

import httpx
import numpy as np

from benchmarks import stack as services
from benchmarks.common import RESULTS_DIR, command_line, log, proxy_machine_facts, publish, work_dir
from benchmarks.questions import MissQuestions, Pair, paraphrase_candidates
from harness.measure import (
    Probe,
    Sample,
    machine_cpu,
    percentiles,
    process_cpu_seconds,
    run_load,
    timed_post,
    timed_probe,
)
from harness.services import MASTER_KEY, RedisServer
from litellm_semcache.admission.classifier import ClassifierStage
from litellm_semcache.settings import SemCacheSettings

MODULE = "benchmarks.latency"
THRESHOLD = 0.92  # both semantic caches use it (the seed's value); see stack.semcache_config
PAIR_MARGIN = 0.01  # a pair is used only when its similarity is at least THRESHOLD + PAIR_MARGIN
SEMCACHE_INDEX = "semcache"
SEMANTIC_INDEX = "litellm_semantic"
HEADERS = {"Authorization": f"Bearer {MASTER_KEY}"}
NO_STORE = (("cache", {"no-store": True}),)
CHAT_PATH = "/v1/chat/completions"
MESSAGES_PATH = "/v1/messages"
MESSAGES_TARGET = "semcache-messages"
CEILING = "client ceiling (fake upstream, no proxy)"


# --- options ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Options:
    requests: int
    concurrency: int
    warmup: int
    throughput_requests: int
    throughput_rounds: int
    exact_set: int
    seed: int
    quick: bool
    keep_work: bool
    output: Path
    embedding_runtime: str
    command: str


def parse_options(argv: Sequence[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(prog=f"python -m {MODULE}", description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300, help="timed requests per latency scenario")
    parser.add_argument("--concurrency", type=int, default=32, help="concurrent clients for throughput")
    parser.add_argument("--warmup", type=int, default=20, help="untimed requests per scenario first")
    parser.add_argument(
        "--throughput-requests", type=int, default=2000, help="requests per throughput scenario"
    )
    parser.add_argument("--throughput-rounds", type=int, default=4, help="interleaved throughput rounds")
    parser.add_argument("--exact-set", type=int, default=200, help="distinct questions for exact repeats")
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--quick", action="store_true", help="tiny N, for a smoke run")
    parser.add_argument("--keep-work", action="store_true", help="keep the logs and configs of the run")
    parser.add_argument("--output", type=Path, help="results file stem (default benchmarks/results/latency)")
    parser.add_argument(
        "--embedding-runtime",
        choices=("torch", "onnx"),
        default="torch",
        help="runtime of the embeddings endpoint LiteLLM's redis-semantic calls: torch (plain "
        "sentence-transformers, what a typical endpoint runs) or onnx (the runtime semcache uses)",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.requests, args.warmup, args.exact_set = 15, 3, 20
        args.throughput_requests, args.throughput_rounds = 2 * args.concurrency, 2
    stem = args.output or RESULTS_DIR / ("latency.quick" if args.quick else "latency")
    return Options(
        requests=args.requests,
        concurrency=args.concurrency,
        warmup=args.warmup,
        throughput_requests=args.throughput_requests,
        throughput_rounds=max(1, args.throughput_rounds),
        exact_set=args.exact_set,
        seed=args.seed,
        quick=args.quick,
        keep_work=args.keep_work,
        output=stem,
        embedding_runtime=args.embedding_runtime,
        command=command_line(MODULE, argv),
    )


# --- the questions ---------------------------------------------------------------------------------------
@dataclass
class Questions:
    """Every text the run sends, allocated so no proxy sees a paraphrase or a miss question twice."""

    latency_pairs: list[Pair]
    warmup_pairs: list[Pair]
    load_pairs: list[Pair]
    load_warmup_pairs: list[Pair]
    messages_pairs: list[Pair]
    """Paraphrases asked through ``/v1/messages`` (their stored questions are seeded through chat)."""
    messages_warmup_pairs: list[Pair]
    exact: list[str]
    misses: MissQuestions
    selection: dict[str, Any]

    @property
    def seeds(self) -> list[str]:
        """The stored questions every semantic cache holds before the timed phases."""
        pairs = self.latency_pairs + self.warmup_pairs + self.load_pairs + self.load_warmup_pairs
        pairs += self.messages_pairs + self.messages_warmup_pairs
        return list(dict.fromkeys([*self.exact, *(p.stored for p in pairs)]))


def _embed_all(embeddings: services.EmbeddingServer, texts: list[str], batch: int = 64) -> np.ndarray:
    vectors: list[list[float]] = []
    for start in range(0, len(texts), batch):
        vectors += embeddings.embed(texts[start : start + batch])
    return np.asarray(vectors, dtype=np.float32)


def _unit(vectors: np.ndarray) -> np.ndarray:
    unit: np.ndarray = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    return unit


def select_pairs(
    embeddings: services.EmbeddingServer, needed: int, seed: int
) -> tuple[list[Pair], dict[str, Any]]:
    """``needed`` pairs that are correct hits for both semantic caches, decided with the real model.

    Kept: similarity to its own stored question >= THRESHOLD + PAIR_MARGIN, and its own stored question
    is the nearest of all stored questions (so no cache can serve another question's answer).
    """
    pool = paraphrase_candidates()
    random.Random(seed).shuffle(pool)
    candidates = pool[: min(len(pool), int(needed * 1.25) + 50)]
    stored = sorted({p.stored for p in candidates})
    where = {text: i for i, text in enumerate(stored)}
    asked_vectors, stored_vectors = (
        _unit(_embed_all(embeddings, texts)) for texts in ([p.paraphrase for p in candidates], stored)
    )
    similarities = asked_vectors @ stored_vectors.T
    own = np.array([similarities[i, where[p.stored]] for i, p in enumerate(candidates)])
    nearest_is_own = similarities.argmax(axis=1) == np.array([where[p.stored] for p in candidates])
    # Only questions the shipped cacheability classifier admits: a kept-out seed is never stored.
    classifier = ClassifierStage.from_settings(SemCacheSettings(redis_url="redis://unused"))
    assert classifier is not None
    stored_ok = [d.admitted for d in classifier.decide_many(stored, stored_vectors)]
    asked = [p.paraphrase for p in candidates]
    asked_ok = [d.admitted for d in classifier.decide_many(asked, asked_vectors)]
    admitted = np.array(
        [stored_ok[where[p.stored]] and ok for p, ok in zip(candidates, asked_ok, strict=True)]
    )
    usable = (own >= THRESHOLD + PAIR_MARGIN) & nearest_is_own & admitted
    kept = [p for p, ok in zip(candidates, usable, strict=True) if ok]
    if len(kept) < needed:
        raise RuntimeError(f"only {len(kept)} usable paraphrase pairs, {needed} needed: lower --requests")
    chosen_similarity = own[usable][:needed]
    return kept[:needed], {
        "pool": len(pool),
        "candidates_checked": len(candidates),
        "usable": int(usable.sum()),
        "kept_out_by_the_classifier": int((~admitted).sum()),
        "used": needed,
        "min_similarity": round(float(chosen_similarity.min()), 4),
        "median_similarity": round(float(np.median(chosen_similarity)), 4),
        "topics": sorted({p.topic for p in kept[:needed]}),
        "example": {"stored": kept[0].stored, "paraphrase": kept[0].paraphrase},
    }


def make_questions(options: Options, embeddings: services.EmbeddingServer) -> Questions:
    sizes = [
        options.requests,
        options.warmup,
        options.throughput_requests,
        options.concurrency,
        options.requests,
        options.warmup,
    ]
    pairs, selection = select_pairs(embeddings, sum(sizes), options.seed)
    cut = np.cumsum([0, *sizes])
    latency, warmup, load, load_warmup, messages, messages_warmup = (
        pairs[cut[i] : cut[i + 1]] for i in range(len(sizes))
    )
    exact = list(dict.fromkeys(p.stored for p in pairs))[: options.exact_set]
    return Questions(
        latency,
        warmup,
        load,
        load_warmup,
        messages,
        messages_warmup,
        exact=exact,
        misses=MissQuestions(options.seed),
        selection=selection,
    )


# --- the stack -------------------------------------------------------------------------------------------
def start_stack(stack: services.Stack) -> None:
    """Upstream, embedding server, three Redis Stack servers and the four proxies."""
    upstream = stack.start_upstream()
    embeddings = stack.start_embeddings()
    for name in ("litellm-redis", "litellm-redis-semantic", "semcache"):
        stack.start_redis(name)
    configs = {
        "nocache": services.nocache_config(upstream),
        "litellm-redis": services.litellm_redis_config(upstream, stack.redis["litellm-redis"]),
        "litellm-redis-semantic": services.litellm_semantic_config(
            upstream, stack.redis["litellm-redis-semantic"], embeddings, THRESHOLD
        ),
        "semcache": services.semcache_config(upstream, stack.redis["semcache"], SEMCACHE_INDEX, THRESHOLD),
    }
    for name, config in configs.items():
        log(f"starting proxy {name}")
        stack.start_proxy(name, config)


#: Entry keys of each cache: a SCAN pattern and a test of the whole key.
_HEX_KEY = re.compile(rb"[0-9a-f]{64}")  # LiteLLM's exact cache: a bare sha256, no namespace configured
ENTRY_KEYS: dict[str, tuple[str, Callable[[bytes], bool]]] = {
    "litellm-redis": ("*", lambda key: bool(_HEX_KEY.fullmatch(key))),
    "litellm-redis-semantic": (f"{SEMANTIC_INDEX}:*", lambda key: True),
    "semcache": (f"{SEMCACHE_INDEX}:entry:*", lambda key: True),
}


def count_entries(server: RedisServer, cache: str) -> int:
    pattern, is_entry = ENTRY_KEYS[cache]
    client = server.client()
    try:
        return sum(1 for key in client.scan_iter(match=pattern, count=1000) if is_entry(key))
    finally:
        client.close()


def wait_for_entries(server: RedisServer, cache: str, n: int, timeout: float = 300) -> int:
    """Wait until the background stores have written ``n`` cache entries."""
    deadline = time.monotonic() + timeout
    while (found := count_entries(server, cache)) < n:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{cache}: only {found} of {n} entries stored after {timeout:.0f}s")
        time.sleep(0.25)
    return found


def seed_caches(stack: services.Stack, questions: Questions, concurrency: int) -> dict[str, int]:
    """Store the questions every hit scenario needs (as misses), then wait for the stores to land."""
    plan = {
        "litellm-redis": questions.exact,
        "litellm-redis-semantic": questions.seeds,
        "semcache": questions.seeds,
    }
    stored = {}
    for name, texts in plan.items():
        log(f"seeding {name} with {len(texts)} questions")
        proxy = stack.proxies[name]
        samples, _ = run_load(
            proxy.base_url + CHAT_PATH, [Probe(t) for t in texts], services.CHAT_MODEL, HEADERS, concurrency
        )
        failed = [s for s in samples if s.status != 200]
        if failed:
            raise RuntimeError(f"seeding {name}: {len(failed)} requests failed (status {failed[0].status})")
        stored[name] = wait_for_entries(stack.redis[name], name, len(texts))
    return stored


# --- scenarios -------------------------------------------------------------------------------------------
@dataclass
class Scenario:
    """A stream of requests to one target; what counts as the wanted outcome; the samples taken."""

    name: str
    target: str
    wanted: str
    """``hit`` (only right hits are timed), ``miss`` (only misses are timed) or ``any``."""
    probes: list[Probe]
    warmup: list[Probe]
    informational: bool = False
    samples: list[Sample] = field(default_factory=list)

    def timed(self) -> list[float]:
        return [s.ms for s in self.samples if self.counts(s)]

    def counts(self, sample: Sample) -> bool:
        if sample.status != 200:
            return False
        if self.wanted == "hit":
            return sample.hit and sample.right
        if self.wanted == "miss":
            return not sample.hit
        return True

    def summary(self) -> dict[str, Any]:
        ok = [s for s in self.samples if s.status == 200]
        result: dict[str, Any] = {
            "target": self.target,
            "wanted": self.wanted,
            "sent": len(self.samples),
            "errors": len(self.samples) - len(ok),
            **percentiles(self.timed()),
        }
        if self.wanted in ("hit", "miss"):
            hits = [s for s in ok if s.hit]
            result["hit_rate"] = round(len(hits) / len(ok), 4) if ok else None
        if self.wanted == "hit":
            result["wrong_hits"] = sum(1 for s in hits if not s.right)
        steps: dict[str, list[float]] = {}
        for sample in self.samples:
            if self.counts(sample):
                for step, ms in sample.timings:
                    steps.setdefault(step, []).append(ms)
        if steps:  # the plugin's own Server-Timing: where its lookups spent their time
            result["server_timing_p50_ms"] = {k: round(float(np.median(v)), 3) for k, v in steps.items()}
        if self.informational:
            result["informational"] = True
        return result


def _cycle(texts: Sequence[str], n: int, offset: int = 0) -> list[Probe]:
    return [
        Probe(texts[(offset + i) % len(texts)], expect=texts[(offset + i) % len(texts)]) for i in range(n)
    ]


def _paraphrases(pairs: Sequence[Pair], api: str = "chat") -> list[Probe]:
    return [Probe(p.paraphrase, expect=p.stored, api=api) for p in pairs]


def _misses(questions: Questions, n: int, body: tuple[tuple[str, Any], ...] = ()) -> list[Probe]:
    return [Probe(text, body=body) for text in questions.misses.take(n)]


def latency_scenarios(questions: Questions, options: Options) -> list[Scenario]:
    n, w = options.requests, options.warmup
    exact = questions.exact
    timed_pairs, warm_pairs = _paraphrases(questions.latency_pairs), _paraphrases(questions.warmup_pairs)
    return [
        Scenario("nocache", "nocache", "any", _misses(questions, n), _misses(questions, w)),
        Scenario("litellm-redis exact hit", "litellm-redis", "hit", _cycle(exact, n, w), _cycle(exact, w)),
        Scenario(
            "litellm-redis-semantic paraphrase hit", "litellm-redis-semantic", "hit", timed_pairs, warm_pairs
        ),
        Scenario("semcache exact hit", "semcache", "hit", _cycle(exact, n, w), _cycle(exact, w)),
        Scenario("semcache paraphrase hit", "semcache", "hit", timed_pairs, warm_pairs),
        Scenario(
            "semcache paraphrase hit, /v1/messages",
            MESSAGES_TARGET,
            "hit",
            _paraphrases(questions.messages_pairs, "messages"),
            _paraphrases(questions.messages_warmup_pairs, "messages"),
        ),
        Scenario("semcache miss", "semcache", "miss", _misses(questions, n), _misses(questions, w)),
        Scenario(
            "semcache miss, no-store",
            "semcache",
            "miss",
            _misses(questions, n, NO_STORE),
            _misses(questions, w, NO_STORE),
        ),
        Scenario(
            "litellm-redis-semantic miss",
            "litellm-redis-semantic",
            "miss",
            _misses(questions, n),
            _misses(questions, w),
            informational=True,
        ),
        Scenario(
            "embedding endpoint, direct call",
            "embeddings",
            "any",
            [Probe(p.paraphrase) for p in questions.latency_pairs],
            [Probe(p.paraphrase) for p in questions.warmup_pairs],
            informational=True,
        ),
    ]


def throughput_scenarios(questions: Questions, options: Options) -> list[Scenario]:
    n, c = options.throughput_requests, options.concurrency
    exact = questions.exact
    load, warm = _paraphrases(questions.load_pairs), _paraphrases(questions.load_warmup_pairs)
    return [
        Scenario("litellm-redis exact hit", "litellm-redis", "hit", _cycle(exact, n), _cycle(exact, c)),
        Scenario("semcache exact hit", "semcache", "hit", _cycle(exact, n), _cycle(exact, c)),
        Scenario("semcache paraphrase hit", "semcache", "hit", load, warm),
        Scenario(
            "litellm-redis-semantic paraphrase hit",
            "litellm-redis-semantic",
            "hit",
            load,
            warm,
            informational=True,
        ),
        Scenario(
            CEILING,
            "upstream",
            "any",
            _misses(questions, n),
            _misses(questions, c),
            informational=True,
        ),
    ]


# --- running ---------------------------------------------------------------------------------------------
@dataclass
class Targets:
    """Where each scenario's requests go, and the processes that serve them (for CPU accounting):
    the proxy, its Redis server and, for LiteLLM's semantic cache, the embedding server."""

    urls: dict[str, str]
    pids: dict[str, list[int]]

    @classmethod
    def of(cls, stack: services.Stack) -> Targets:
        assert stack.upstream is not None and stack.embeddings is not None
        urls = {name: proxy.base_url + CHAT_PATH for name, proxy in stack.proxies.items()}
        urls["upstream"] = stack.upstream.base_url + CHAT_PATH
        urls["embeddings"] = stack.embeddings.base_url + "/v1/embeddings"
        urls[MESSAGES_TARGET] = stack.proxies["semcache"].base_url + MESSAGES_PATH
        pids = {name: [proxy.process.pid] for name, proxy in stack.proxies.items()}
        for name, server in stack.redis.items():
            pids[name].append(server.process.pid)
        pids[MESSAGES_TARGET] = pids["semcache"]
        pids["litellm-redis-semantic"].append(stack.embeddings.process.pid)
        pids["upstream"] = [stack.upstream.process.pid]
        pids["embeddings"] = [stack.embeddings.process.pid]
        return cls(urls, pids)


def _sequential_request(
    clients: dict[str, httpx.Client], targets: Targets, scenario: Scenario, probe: Probe
) -> Sample:
    client, url = clients[scenario.target], targets.urls[scenario.target]
    if scenario.target == "embeddings":
        return timed_post(client, url, {"model": services.EMBEDDING_MODEL, "input": probe.text}, HEADERS)
    return timed_probe(client, url, probe, services.CHAT_MODEL, HEADERS)


def run_interleaved(
    scenarios: list[Scenario],
    targets: Targets,
    rounds: int,
    pick: Callable[[Scenario], list[Probe]],
    seed: int,
) -> list[list[Sample]]:
    """Round r sends probe r of every scenario, in a shuffled order; returns the samples per scenario."""
    order = random.Random(seed)
    collected: list[list[Sample]] = [[] for _ in scenarios]
    clients = {name: httpx.Client(timeout=60) for name in targets.urls}
    try:
        for r in range(rounds):
            indices = list(range(len(scenarios)))
            order.shuffle(indices)
            for i in indices:
                probes = pick(scenarios[i])
                if r < len(probes):
                    collected[i].append(_sequential_request(clients, targets, scenarios[i], probes[r]))
    finally:
        for client in clients.values():
            client.close()
    return collected


def warm_up_latency(scenarios: list[Scenario], targets: Targets, options: Options) -> None:
    log(f"latency warm-up: {options.warmup} requests x {len(scenarios)} scenarios")
    run_interleaved(scenarios, targets, options.warmup, lambda s: s.warmup, options.seed)
    time.sleep(1.0)  # let the warm-up's background stores finish


def run_latency(scenarios: list[Scenario], targets: Targets, options: Options) -> None:
    log(f"latency: {options.requests} requests x {len(scenarios)} scenarios, interleaved")
    collected = run_interleaved(scenarios, targets, options.requests, lambda s: s.probes, options.seed + 1)
    for scenario, samples in zip(scenarios, collected, strict=True):
        scenario.samples = samples


@dataclass
class LoadRecord:
    wall: float = 0.0
    client_cpu: float = 0.0
    server_cpu: float = 0.0
    machine_busy: float = 0.0
    machine_total: float = 0.0


def _load_chunk(
    scenario: Scenario, probes: list[Probe], targets: Targets, concurrency: int, record: LoadRecord
) -> None:
    pids = targets.pids[scenario.target]
    server_before, client_before, (busy_before, total_before) = (
        process_cpu_seconds(pids),
        time.process_time(),
        machine_cpu(),
    )
    samples, wall = run_load(targets.urls[scenario.target], probes, services.CHAT_MODEL, HEADERS, concurrency)
    busy_after, total_after = machine_cpu()
    record.client_cpu += time.process_time() - client_before
    record.server_cpu += process_cpu_seconds(pids) - server_before
    record.machine_busy += busy_after - busy_before
    record.machine_total += total_after - total_before
    record.wall += wall
    scenario.samples += samples


def warm_up_throughput(scenarios: list[Scenario], targets: Targets, options: Options) -> None:
    c = options.concurrency
    log(f"throughput warm-up: {c} requests x {len(scenarios)} scenarios at {c} clients")
    for scenario in scenarios:
        run_load(targets.urls[scenario.target], scenario.warmup, services.CHAT_MODEL, HEADERS, c)
    time.sleep(1.0)


def run_throughput(scenarios: list[Scenario], targets: Targets, options: Options) -> dict[str, LoadRecord]:
    rounds = options.throughput_rounds
    records = {s.name: LoadRecord() for s in scenarios}
    order = random.Random(options.seed + 2)
    for r in range(rounds):
        log(f"throughput round {r + 1}/{rounds}")
        for scenario in order.sample(scenarios, len(scenarios)):
            share = len(scenario.probes) // rounds
            chunk = scenario.probes[r * share : (r + 1) * share if r < rounds - 1 else None]
            _load_chunk(scenario, chunk, targets, options.concurrency, records[scenario.name])
    return records


def throughput_summary(scenario: Scenario, record: LoadRecord, cores: int) -> dict[str, Any]:
    summary = scenario.summary()
    ok = sum(1 for s in scenario.samples if s.status == 200)
    summary.update(
        {
            "requests_per_s": round(ok / record.wall, 1) if record.wall else None,
            "hits_per_s": round(summary["n"] / record.wall, 1) if record.wall else None,
            "wall_s": round(record.wall, 2),
            "client_cpu_pct_of_core": round(100 * record.client_cpu / record.wall, 1),
            "server_cpu_pct_of_core": round(100 * record.server_cpu / record.wall, 1),
            "machine_busy_pct": round(100 * record.machine_busy / max(record.machine_total, 1e-9), 1),
            "machine_cores": cores,
        }
    )
    return summary


# --- checks and breakdowns -------------------------------------------------------------------------------
def upstream_check(scenarios: list[Scenario], before: int, after: int) -> dict[str, Any]:
    """Every response without the cache header must be exactly one upstream call, and no hit may be one."""
    expected = sum(
        1 for s in scenarios if s.target not in ("embeddings",) for sample in s.samples if not sample.hit
    )
    return {"expected_calls": expected, "observed_calls": after - before, "ok": expected == after - before}


def semantic_breakdown(
    stack: services.Stack, targets: Targets, questions: Questions, n: int
) -> dict[str, Any]:
    """Where a LiteLLM redis-semantic hit spends its time: its embedding calls, seen from the server."""
    assert stack.embeddings is not None
    time.sleep(1.0)  # background stores of earlier misses
    stack.embeddings.reset()
    probes = _paraphrases(questions.latency_pairs[:n])  # repeats: this cache keeps no embeddings
    scenario = Scenario("breakdown", "litellm-redis-semantic", "hit", probes, [])
    scenario.samples = run_interleaved([scenario], targets, len(probes), lambda s: s.probes, 0)[0]
    stats = stack.embeddings.stats()
    requests = max(stats["requests"], 1)
    return {
        "hits_sent": len(probes),
        "hit_p50_ms": percentiles(scenario.timed())["p50"],
        "embedding_calls_per_request": round(stats["requests"] / len(probes), 2),
        "embedding_server_handle_ms_mean": round(stats["handle_ms"] / requests, 3),
        "embedding_server_encode_ms_mean": round(stats["encode_ms"] / max(stats["batches"], 1), 3),
    }


def client_check(throughput: dict[str, Any]) -> dict[str, Any]:
    """The load client is not the bottleneck if it alone can go far faster and is far from a full core."""
    ceiling = throughput[CEILING]["requests_per_s"]
    proxied = [row for name, row in throughput.items() if name != CEILING]
    fastest = max(row["requests_per_s"] or 0 for row in proxied)
    client_cpu = max(row["client_cpu_pct_of_core"] for row in proxied)
    return {
        "ceiling_requests_per_s": ceiling,
        "fastest_proxy_requests_per_s": fastest,
        "max_client_cpu_pct_of_core": client_cpu,
        "ok": bool(ceiling and ceiling >= 3 * fastest and client_cpu < 50),
    }


def where_the_time_goes(latency: dict[str, Any]) -> dict[str, Any]:
    """Split the extra p50 of a semantic hit over an exact hit: the embedding call, and the rest."""
    sem_extra = _difference(
        latency["litellm-redis-semantic paraphrase hit"]["p50"], latency["litellm-redis exact hit"]["p50"]
    )
    embedding_call = latency["embedding endpoint, direct call"]["p50"]
    return {
        "litellm_semantic_minus_exact_hit_p50_ms": sem_extra,
        "direct_embedding_call_p50_ms": embedding_call,
        "litellm_semantic_rest_p50_ms": _difference(sem_extra, embedding_call),
        "semcache_paraphrase_minus_exact_hit_p50_ms": _difference(
            latency["semcache paraphrase hit"]["p50"], latency["semcache exact hit"]["p50"]
        ),
        # its steps, from the plugin's Server-Timing header (each step's own p50)
        "semcache_paraphrase_hit_steps_p50_ms": latency["semcache paraphrase hit"].get(
            "server_timing_p50_ms"
        ),
    }


# --- report ----------------------------------------------------------------------------------------------
def _stat(results: dict[str, Any], section: str, scenario: str, key: str) -> float | None:
    value: float | None = results[section].get(scenario, {}).get(key)
    return value


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None


def _difference(a: float | None, b: float | None) -> float | None:
    return round(a - b, 3) if a is not None and b is not None else None


class Target(NamedTuple):
    """A goal on two scenarios' numbers: ``combine(a's key, b's key) op goal``."""

    what: str
    """Its name in the table (``{clients}``: the throughput concurrency)."""
    combine: Callable[[float | None, float | None], float | None]
    section: str
    key: str
    a: str
    b: str
    op: str
    goal: float


TARGETS = (
    Target(
        "semcache exact-repeat p50 / litellm-redis hit p50",
        _ratio, "latency", "p50", "semcache exact hit", "litellm-redis exact hit", "<=", 1.2,
    ),
    Target(
        "semcache paraphrase-hit p50 / litellm-redis-semantic hit p50",
        _ratio, "latency", "p50", "semcache paraphrase hit", "litellm-redis-semantic paraphrase hit",
        "<=", 0.5,
    ),
    Target(
        "semcache miss p50 - nocache p50 (ms)",
        _difference, "latency", "p50", "semcache miss", "nocache", "<=", 15.0,
    ),
    Target(
        "semcache exact hits/s / litellm-redis hits/s ({clients} clients)",
        _ratio, "throughput", "hits_per_s", "semcache exact hit", "litellm-redis exact hit", ">=", 0.6,
    ),
    Target(
        "semcache paraphrase hits/s / litellm-redis hits/s ({clients} clients)",
        _ratio, "throughput", "hits_per_s", "semcache paraphrase hit", "litellm-redis exact hit", ">=", 0.6,
    ),
)  # fmt: skip


def targets_table(results: dict[str, Any]) -> list[dict[str, Any]]:
    clients = results["settings"]["concurrency"]
    table = []
    for t in TARGETS:
        value = t.combine(_stat(results, t.section, t.a, t.key), _stat(results, t.section, t.b, t.key))
        met = None if value is None else (value <= t.goal if t.op == "<=" else value >= t.goal)
        table.append(
            {
                "target": t.what.format(clients=clients),
                "value": value,
                "goal": f"{t.op} {t.goal:g}",
                "met": met,
            }
        )
    table.append(
        {
            "target": "semcache /v1/messages paraphrase-hit p50 / chat paraphrase-hit p50 (a chat entry "
            "rendered as an Anthropic message)",
            "value": _ratio(
                _stat(results, "latency", "semcache paraphrase hit, /v1/messages", "p50"),
                _stat(results, "latency", "semcache paraphrase hit", "p50"),
            ),
            "goal": "about 1",
            "met": None,
        }
    )
    table.append(
        {
            "target": "semcache miss p50 - miss with no-store p50 (ms; the store is off the response path)",
            "value": _difference(
                _stat(results, "latency", "semcache miss", "p50"),
                _stat(results, "latency", "semcache miss, no-store", "p50"),
            ),
            "goal": "about 0",
            "met": None,
        }
    )
    return table


def _fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


def breakdown_sentence(split: dict[str, Any]) -> str:
    extra, call = split["litellm_semantic_minus_exact_hit_p50_ms"], split["direct_embedding_call_p50_ms"]
    encode, calls = split["embedding_server_encode_ms_mean"], split["embedding_calls_per_request"]
    own = split["semcache_paraphrase_minus_exact_hit_p50_ms"]
    return (
        f"LiteLLM redis-semantic hit vs its exact hit: +{_fmt(extra, 1)} ms p50, of which one embedding "
        f"HTTP call is {_fmt(call, 1)} ms ({calls} calls per hit, {_fmt(encode, 1)} ms encoding on the "
        f"server). semcache paraphrase vs exact hit: +{_fmt(own, 1)} ms p50"
        + (
            " (its steps, p50 each: "
            + ", ".join(
                f"{k} {_fmt(v, 2)} ms"
                for k, v in (split.get("semcache_paraphrase_hit_steps_p50_ms") or {}).items()
            )
            + ")."
            if split.get("semcache_paraphrase_hit_steps_p50_ms")
            else "."
        )
    )


def _label(name: str, row: dict[str, Any]) -> str:
    return f"{name} *(info)*" if row.get("informational") else name


def _head_lines(results: dict[str, Any]) -> list[str]:
    machine = results["machine"]
    return [
        f"Command: `{results['command']}`  ",
        f"Run: {results['started_at']}, {results['duration_s']:.0f} s; machine: {machine['cpu_count']} CPUs "
        f"({machine['cpu_model']}), Python {machine['python']}, "
        f"litellm {machine['packages'].get('litellm')}  ",
        f"Embeddings endpoint of LiteLLM's redis-semantic: all-MiniLM-L6-v2 on "
        f"{results['settings']['embedding_endpoint_runtime']}; semcache embeds in-process on ONNX Runtime.",
    ]


def _latency_lines(results: dict[str, Any]) -> list[str]:
    lines = [
        "",
        "**Latency** (one sequential client, ms; only verified hits / misses are timed)",
        "",
        "| scenario | timed | hit rate | p50 | p90 | p99 | mean |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, row in results["latency"].items():
        lines.append(
            f"| {_label(name, row)} | {row['n']} | {_rate(row.get('hit_rate'))} | {_fmt(row['p50'])} | "
            f"{_fmt(row['p90'])} | {_fmt(row['p99'])} | {_fmt(row['mean'])} |"
        )
    return lines


def _throughput_lines(results: dict[str, Any]) -> list[str]:
    lines = [
        "",
        f"**Throughput** ({results['settings']['concurrency']} concurrent clients)",
        "",
        "| scenario | requests | hit rate | hits/s | p50 ms | p99 ms | client CPU | server CPU | machine |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, row in results["throughput"].items():
        rate = row["requests_per_s"] if row["wanted"] == "any" else row["hits_per_s"]
        cpu = [
            f"{row[k]:.0f}%" for k in ("client_cpu_pct_of_core", "server_cpu_pct_of_core", "machine_busy_pct")
        ]
        lines.append(
            f"| {_label(name, row)} | {row['sent']} | {_rate(row.get('hit_rate'))} | {_fmt(rate, 1)} | "
            f"{_fmt(row['p50'])} | {_fmt(row['p99'])} | {' | '.join(cpu)} |"
        )
    return lines


def _target_lines(results: dict[str, Any]) -> list[str]:
    lines = ["", "**Targets**", "", "| target | value | goal | met |", "|---|---:|---:|:---:|"]
    for row in results["targets"]:
        met = {True: "yes", False: "**no**", None: "-"}[row["met"]]
        lines.append(f"| {row['target']} | {_fmt(row['value'], 3)} | {row['goal']} | {met} |")
    return lines


def _check_lines(results: dict[str, Any]) -> list[str]:
    checks, questions = results["checks"], results["questions"]
    return [
        "",
        f"Paraphrase pairs: {questions['used']} used of {questions['usable']} usable "
        f"(min similarity {questions['min_similarity']}). Checks: upstream calls = non-hits "
        f"(latency {checks['latency_upstream']['ok']}, throughput {checks['throughput_upstream']['ok']}); "
        f"client not the limit {checks['client_not_the_limit']['ok']} "
        f"(ceiling {_fmt(checks['client_not_the_limit']['ceiling_requests_per_s'], 0)} req/s).",
        "",
        breakdown_sentence(results["litellm_semantic_breakdown"]),
    ]


def markdown(results: dict[str, Any]) -> str:
    sections = (_head_lines, _latency_lines, _throughput_lines, _target_lines, _check_lines)
    return "\n".join(line for section in sections for line in section(results)) + "\n"


def machine_facts(stack: services.Stack) -> dict[str, Any]:
    client = next(iter(stack.redis.values())).client()
    try:
        redis_version = client.info("server").get("redis_version")
    finally:
        client.close()
    packages = ("litellm", "redisvl", "redis", "sentence-transformers", "torch", "numpy", "aiohttp", "httpx")
    return proxy_machine_facts(packages, redis_version)


# --- main ------------------------------------------------------------------------------------------------
def measure(stack: services.Stack, options: Options) -> dict[str, Any]:
    """Start everything, seed the caches, run the latency and throughput phases; the results."""
    start_stack(stack)
    assert stack.upstream is not None and stack.embeddings is not None
    machine = machine_facts(stack)
    log("choosing paraphrase pairs with the embedding model")
    questions = make_questions(options, stack.embeddings)
    seeded = seed_caches(stack, questions, concurrency=8)
    targets = Targets.of(stack)

    latency = latency_scenarios(questions, options)
    warm_up_latency(latency, targets, options)
    before = stack.upstream.calls
    run_latency(latency, targets, options)
    latency_upstream = upstream_check(latency, before, stack.upstream.calls)
    log("timing the embedding calls of LiteLLM's semantic cache")
    breakdown = semantic_breakdown(stack, targets, questions, min(options.requests, 50))

    load = throughput_scenarios(questions, options)
    warm_up_throughput(load, targets, options)
    before = stack.upstream.calls
    records = run_throughput(load, targets, options)
    throughput_upstream = upstream_check(load, before, stack.upstream.calls)

    cores = os.cpu_count() or 1
    machine["load_average_end"] = list(os.getloadavg())
    return {
        "machine": machine,
        "questions": questions.selection,
        "seeded": seeded,
        "latency": {s.name: s.summary() for s in latency},
        "throughput": {s.name: throughput_summary(s, records[s.name], cores) for s in load},
        "litellm_semantic_breakdown": breakdown,
        "checks": {"latency_upstream": latency_upstream, "throughput_upstream": throughput_upstream},
    }


def finish(results: dict[str, Any], options: Options, started_at: str, duration: float) -> dict[str, Any]:
    """Add the run's facts and the targets to the results."""
    head = {
        "command": options.command,
        "started_at": started_at,
        "duration_s": round(duration, 1),
        "settings": {
            "requests": options.requests,
            "warmup": options.warmup,
            "concurrency": options.concurrency,
            "throughput_requests": options.throughput_requests,
            "throughput_rounds": options.throughput_rounds,
            "exact_set": options.exact_set,
            "similarity_threshold": THRESHOLD,
            "embedding_endpoint_runtime": options.embedding_runtime,
            "seed": options.seed,
            "quick": options.quick,
        },
    }
    results = {**head, **results}
    results["targets"] = targets_table(results)
    results["checks"]["client_not_the_limit"] = client_check(results["throughput"])
    results["litellm_semantic_breakdown"].update(where_the_time_goes(results["latency"]))
    return results


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_options(argv)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl-C, even if started with SIGINT ignored
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # and a plain kill: both run the cleanup
    started, started_at = time.monotonic(), dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    with (
        work_dir("semcache-bench-", options.keep_work) as folder,
        services.Stack(folder, options.embedding_runtime) as stack,
    ):
        raw = measure(stack, options)
    results = finish(raw, options, started_at, time.monotonic() - started)
    text = markdown(results)
    publish(options.output, results, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
